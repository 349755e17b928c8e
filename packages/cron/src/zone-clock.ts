import { SchedulerError } from '@openpenpal/errors';

/**
 * The wall clock of an IANA time zone, as seen from UTC instants.
 *
 * A "wall time" here is a local date and time encoded as if it were UTC (Date.UTC of the local
 * fields), so wall times compare and step like plain numbers. The zone's history comes from Intl
 * (the ICU time zone data bundled with Node); Intl exposes no transition list, so this module finds
 * transitions itself, once per zone and year, and keeps them.
 */

const SECOND = 1_000;
const HOUR = 3_600 * SECOND;
/**
 * Sampling step when searching a year for offset changes. Two transitions closer than this would
 * cancel out unseen; no zone in the tz database changes its offset twice within six hours.
 */
const SAMPLE_STEP = 6 * HOUR;
/**
 * Every offset in the tz database lies within ±16 h (local mean times included), so the instants
 * that show a given wall time lie within this distance of it, and vice versa.
 */
const MAX_OFFSET = 16 * HOUR;

/** A stretch of time [start, end) during which the zone keeps one UTC offset. */
interface Segment {
  readonly start: number;
  readonly end: number;
  readonly offset: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const yearSegments = new Map<string, readonly Segment[]>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** The zone's UTC offset (ms, local minus UTC) in force at an instant, read through Intl. */
function offsetAt(zone: string, instant: number): number {
  const fields = { era: 'AD', year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(zone).formatToParts(instant)) {
    if (part.type === 'era') fields.era = part.value;
    else if (part.type in fields) (fields as Record<string, unknown>)[part.type] = Number(part.value);
  }
  const year = fields.era === 'BC' || fields.era === 'B' ? 1 - fields.year : fields.year;
  const wall = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  wall.setUTCFullYear(year, fields.month - 1, fields.day);
  wall.setUTCHours(fields.hour, fields.minute, fields.second, 0);
  return wall.getTime() - Math.floor(instant / SECOND) * SECOND;
}

/** The first whole second in (low, high] whose offset differs from low's; the offset at high differs. */
function findTransition(zone: string, low: number, high: number, lowOffset: number): number {
  let lo = low;
  let hi = high;
  while (hi - lo > SECOND) {
    const mid = lo + Math.floor((hi - lo) / (2 * SECOND)) * SECOND;
    if (offsetAt(zone, mid) === lowOffset) lo = mid;
    else hi = mid;
  }
  return hi;
}

function segmentsOfYear(zone: string, year: number): readonly Segment[] {
  const key = `${zone}\u0000${year}`;
  const cached = yearSegments.get(key);
  if (cached !== undefined) return cached;
  const from = Date.UTC(year, 0, 1);
  const to = Date.UTC(year + 1, 0, 1);
  const segments: Segment[] = [];
  let start = from;
  let offset = offsetAt(zone, from);
  let probe = from;
  while (probe < to) {
    const next = Math.min(probe + SAMPLE_STEP, to - SECOND);
    if (next <= probe) break;
    const nextOffset = offsetAt(zone, next);
    if (nextOffset === offset) {
      probe = next;
      continue;
    }
    const transition = findTransition(zone, probe, next, offset);
    segments.push({ start, end: transition, offset });
    start = transition;
    offset = offsetAt(zone, transition);
    probe = transition;
  }
  segments.push({ start, end: to, offset });
  yearSegments.set(key, segments);
  return segments;
}

function yearOf(instant: number): number {
  return new Date(instant).getUTCFullYear();
}

/** The segments that overlap [from, to], oldest first, merged across year boundaries. */
function segmentsBetween(zone: string, from: number, to: number): Segment[] {
  const result: Segment[] = [];
  for (let year = yearOf(from); year <= yearOf(to); year += 1) {
    for (const segment of segmentsOfYear(zone, year)) {
      if (segment.end <= from || segment.start > to) continue;
      const last = result.at(-1);
      if (last !== undefined && last.offset === segment.offset && last.end === segment.start) {
        result[result.length - 1] = { start: last.start, end: segment.end, offset: last.offset };
      } else {
        result.push(segment);
      }
    }
  }
  return result;
}

/**
 * The latest wall time the zone's clock has shown at or before an instant. After a fall-back
 * transition the clock reads less than it did an hour ago; this is the reading before it fell back
 * until the clock catches up again, so a wall time already passed is never passed "again".
 */
export function wallClockHighWater(zone: string, instant: number): number {
  let highest = Number.NEGATIVE_INFINITY;
  for (const segment of segmentsBetween(zone, instant - 2 * MAX_OFFSET, instant)) {
    const lastInstant = Math.min(segment.end - 1, instant);
    if (lastInstant >= segment.start) highest = Math.max(highest, lastInstant + segment.offset);
  }
  return highest;
}

/**
 * The first instant at which the zone's clock shows the wall time or a later one. For a wall time
 * that exists once this is simply that instant; for one shown twice (fall back) it is the first
 * showing; for one skipped by a forward jump (spring forward) it is the instant of the jump.
 */
export function firstInstantAtWall(zone: string, wall: number): number {
  for (const segment of segmentsBetween(zone, wall - MAX_OFFSET, wall + MAX_OFFSET)) {
    const start = Math.max(segment.start, wall - MAX_OFFSET);
    if (start + segment.offset >= wall) return start;
    if (wall < segment.end + segment.offset) return wall - segment.offset;
  }
  throw new SchedulerError('INTERNAL', `no instant shows wall time ${wall} in ${zone}`);
}
