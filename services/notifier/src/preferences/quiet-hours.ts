/** Quiet hours as the platform stores them: `"22:00-08:00"` in the user's time zone. */
export interface QuietHours {
  /** Minutes after local midnight. */
  startMinute: number;
  endMinute: number;
}

const RANGE = /^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*$/;
const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;

/** The range, or undefined when none is set, it is malformed, or it is empty (`08:00-08:00`). */
export function parseQuietHours(text: string | null | undefined): QuietHours | undefined {
  const match = RANGE.exec(text ?? '');
  if (!match) return undefined;
  const startMinute = Number(match[1]) * 60 + Number(match[2]);
  const endMinute = Number(match[3]) * 60 + Number(match[4]);
  return startMinute === endMinute ? undefined : { startMinute, endMinute };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Whether `zone` is an IANA zone this runtime knows. */
export function isKnownZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

function formatter(zone: string): Intl.DateTimeFormat {
  let found = formatters.get(zone);
  if (!found) {
    found = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(zone, found);
  }
  return found;
}

/** Minutes after local midnight at `instant` in `zone`. */
function localMinute(zone: string, instant: number): number {
  let hour = 0;
  let minute = 0;
  for (const part of formatter(zone).formatToParts(instant)) {
    if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return hour * 60 + minute;
}

function inside(range: QuietHours, minute: number): boolean {
  return range.startMinute < range.endMinute
    ? minute >= range.startMinute && minute < range.endMinute
    : minute >= range.startMinute || minute < range.endMinute;
}

/**
 * When the quiet hours around `now` end (epoch ms), or undefined when `now` is outside them. The
 * end is the first instant at which the local clock reads the end time; across a DST change inside
 * the quiet hours the distance is corrected by the offset change.
 */
export function quietHoursEnd(range: QuietHours, zone: string, now: number): number | undefined {
  const minute = localMinute(zone, now);
  if (!inside(range, minute)) return undefined;
  const startOfMinute = now - (now % MINUTE_MS);
  let candidate = startOfMinute + ((range.endMinute - minute + DAY_MINUTES) % DAY_MINUTES) * MINUTE_MS;
  // A DST change moves the local clock by up to an hour or two: step to where it reads the end time.
  for (let i = 0; i < 3; i += 1) {
    const off = (range.endMinute - localMinute(zone, candidate) + DAY_MINUTES) % DAY_MINUTES;
    if (off === 0) break;
    candidate += (off > DAY_MINUTES / 2 ? off - DAY_MINUTES : off) * MINUTE_MS;
  }
  return Math.max(candidate, now + 1);
}
