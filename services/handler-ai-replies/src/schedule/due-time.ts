import type { AiReplyRequested } from '@openpenpal/contracts';
import { unionBranch } from '@openpenpal/contracts';
import { DateTime, IANAZone } from 'luxon';

/** A request's delay, as the schema carries it. */
export type ReplyDelay = AiReplyRequested['delay'];

const HOUR_MS = 3_600_000;
/** The farthest a reply may be asked for: a year (the relative form's 365 days, plus its hours). */
const MAX_DELAY_MS = 366 * 24 * HOUR_MS;
/** An absolute time this much before the request still counts as "now" (producer clock skew). */
const PAST_TOLERANCE_MS = 5 * 60_000;

export type DueTime = { ok: true; dueAt: number } | { ok: false; reason: string };

/** An IANA name (`Area/Location`, `UTC`), not an offset such as `+08:00` that Intl also accepts. */
const IANA_NAME = /^[A-Za-z][A-Za-z_]*(?:\/[A-Za-z0-9_+-]+)*$/;

/** Whether `zone` is an IANA zone name the runtime's tz data knows. */
export function isIanaZone(zone: string): boolean {
  return zone.length <= 64 && IANA_NAME.test(zone) && IANAZone.isValidZone(zone);
}

const refused = (reason: string): DueTime => ({ ok: false, reason });
const inRange = (value: number, min: number, max: number) =>
  Number.isInteger(value) && value >= min && value <= max;

/**
 * When a reply is due (openpenpal-domain.md §2), from the request time in the user's zone: hours
 * (`delayHours`, 0 to 8784), a preset, relative days (0–365, calendar days in the zone: 09:00 stays
 * 09:00 across a DST change) + hours (0–23) + minutes (0–59), or an absolute instant (not before
 * the request, at most a year after it).
 */
export function dueTime(delay: ReplyDelay, requestedAt: number, zone: string): DueTime {
  const at = DateTime.fromMillis(requestedAt, { zone });
  const branch = unionBranch(delay);
  switch (branch.name) {
    case 'org.openpenpal.platform.AiReplyDelayHours': {
      const { delayHours } = branch.value;
      if (!inRange(delayHours, 0, MAX_DELAY_MS / HOUR_MS)) {
        return refused(`delay.delayHours: must be a whole number from 0 to ${MAX_DELAY_MS / HOUR_MS}`);
      }
      return { ok: true, dueAt: requestedAt + delayHours * HOUR_MS };
    }
    case 'org.openpenpal.platform.AiReplyDelayPreset':
      return { ok: true, dueAt: presetDue(branch.value.preset, at) };
    case 'org.openpenpal.platform.AiReplyDelayRelative': {
      const { days, hours, minutes } = branch.value;
      if (!inRange(days, 0, 365)) return refused('delay.days: must be from 0 to 365');
      if (!inRange(hours, 0, 23)) return refused('delay.hours: must be from 0 to 23');
      if (!inRange(minutes, 0, 59)) return refused('delay.minutes: must be from 0 to 59');
      return { ok: true, dueAt: at.plus({ days }).plus({ hours, minutes }).toMillis() };
    }
    case 'org.openpenpal.platform.AiReplyDelayAbsolute': {
      const due = branch.value.at;
      if (due < requestedAt - PAST_TOLERANCE_MS) return refused('delay.at: must not be before requestedAt');
      if (due > requestedAt + MAX_DELAY_MS)
        return refused('delay.at: must be at most a year after requestedAt');
      return { ok: true, dueAt: Math.max(due, requestedAt) };
    }
  }
}

function presetDue(preset: string, at: DateTime): number {
  switch (preset) {
    case 'one_hour':
      return at.toMillis() + HOUR_MS;
    case 'three_hours':
      return at.toMillis() + 3 * HOUR_MS;
    case 'tomorrow_morning': {
      // The next 08:00 on the user's clock (today's when it is still ahead).
      const today = at.set({ hour: 8, minute: 0, second: 0, millisecond: 0 });
      return (today > at ? today : today.plus({ days: 1 }).set({ hour: 8, minute: 0 })).toMillis();
    }
    case 'weekend': {
      // The next Saturday 10:00 (luxon: Monday 1 … Saturday 6).
      const saturday = at.plus({ days: (6 - at.weekday + 7) % 7 }).set({
        hour: 10,
        minute: 0,
        second: 0,
        millisecond: 0,
      });
      return (saturday > at ? saturday : saturday.plus({ days: 7 }).set({ hour: 10, minute: 0 })).toMillis();
    }
    case 'nextweek':
      return at.plus({ days: 7 }).toMillis();
    default:
      // `tomorrow`, and a preset added after this schema version (it reads as tomorrow): +24 h.
      return at.toMillis() + 24 * HOUR_MS;
  }
}

/** Quiet hours as the platform stores them: `"22:00-08:00"`, minutes after local midnight. */
export interface QuietHours {
  startMinute: number;
  endMinute: number;
}

const RANGE = /^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*$/;

/** The range, or undefined when none is set, it is malformed, or it is empty (`08:00-08:00`). */
export function parseQuietHours(text: string | null | undefined): QuietHours | undefined {
  const match = RANGE.exec(text ?? '');
  if (!match) return undefined;
  const startMinute = Number(match[1]) * 60 + Number(match[2]);
  const endMinute = Number(match[3]) * 60 + Number(match[4]);
  return startMinute === endMinute ? undefined : { startMinute, endMinute };
}

/**
 * `due` moved to the end of the quiet hours when it falls inside them (in `zone`), else unchanged.
 * The end is the first instant the local clock reads the end time (luxon moves a time that a DST
 * change skips forward).
 */
export function outOfQuietHours(due: number, quiet: QuietHours | undefined, zone: string): number {
  if (!quiet) return due;
  const local = DateTime.fromMillis(due, { zone });
  const minute = local.hour * 60 + local.minute;
  const inside =
    quiet.startMinute < quiet.endMinute
      ? minute >= quiet.startMinute && minute < quiet.endMinute
      : minute >= quiet.startMinute || minute < quiet.endMinute;
  if (!inside) return due;
  const endTime = {
    hour: Math.floor(quiet.endMinute / 60),
    minute: quiet.endMinute % 60,
    second: 0,
    millisecond: 0,
  };
  const day = minute < quiet.endMinute ? local : local.plus({ days: 1 });
  return day.set(endTime).toMillis();
}

/** The user's local day of `instant`: [start, end) as instants. */
export function localDay(instant: number, zone: string): { start: Date; end: Date } {
  const start = DateTime.fromMillis(instant, { zone }).startOf('day');
  return { start: start.toJSDate(), end: start.plus({ days: 1 }).toJSDate() };
}
