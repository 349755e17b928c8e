import { nextFireTime, validateCron } from '@openpenpal/cron';

/** A zone whose local send time falls in the trigger's window, with the local day it is for. */
interface DueZone {
  timezone: string;
  /** `YYYY-MM-DD` in the zone: the day the claim (one per user) is for. */
  localDate: string;
  /** The instant the zone's clock showed the send time (DST-correct, from @openpenpal/cron). */
  sendAt: number;
}

export interface ZonePlan {
  due: DueZone[];
  /** Zones that are not IANA zones the runtime knows, with the reason. */
  invalid: { timezone: string; reason: string }[];
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** The local calendar date of an instant in a zone, `YYYY-MM-DD`. */
export function localDateOf(timezone: string, instant: number): string {
  let format = dateFormats.get(timezone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dateFormats.set(timezone, format);
  }
  return format.format(instant);
}

/**
 * The zones a trigger for `nominal` serves: those whose clock showed `localTime` (HH:MM) within
 * (nominal − window, nominal]. The send time of a zone and day is its cron fire time (`M H * * *`
 * in that zone), so a day the clocks change is handled as the scheduler handles every schedule: a
 * skipped 20:00 fires at the jump, a repeated one fires once. With the quarter-hourly UTC trigger
 * and a 15-minute window every zone is due in exactly one trigger per local day.
 */
export function planZones(input: {
  zones: readonly string[];
  nominal: number;
  localTime: string;
  windowMs: number;
}): ZonePlan {
  const [hour, minute] = input.localTime.split(':').map(Number);
  const plan: ZonePlan = { due: [], invalid: [] };
  for (const timezone of input.zones) {
    let sendAt: number | undefined;
    try {
      sendAt = nextFireTime(
        validateCron(`${minute} ${hour} * * *`, timezone),
        input.nominal - input.windowMs,
      );
    } catch (error) {
      plan.invalid.push({ timezone, reason: error instanceof Error ? error.message : String(error) });
      continue;
    }
    if (sendAt !== undefined && sendAt <= input.nominal) {
      plan.due.push({ timezone, localDate: localDateOf(timezone, sendAt), sendAt });
    }
  }
  return plan;
}
