import { SchedulerError } from '@openpenpal/errors';
import { nextMatchingWallTime, type CronSchedule } from './schedule.ts';
import { validationError } from './validation-error.ts';
import { firstInstantAtWall, wallClockHighWater } from './zone-clock.ts';

/**
 * Nominal fire times. The expression names wall-clock times in the schedule's zone; each matching
 * wall time W fires once, at the first instant the zone's clock shows W or later:
 * - W exists once: at that instant.
 * - W is shown twice (fall back): at its first showing only. A schedule that matches inside the
 *   repeated hour fires during the first pass and stays silent during the second.
 * - W is skipped (spring forward): at the instant of the jump. Every skipped W maps to that one
 *   instant, and so does the wall time the clock jumps to, so they fire once together.
 * Nominal times are whole seconds; two wall times mapping to one instant are one nominal time.
 */

/** Croner searches up to year 9999; before 1900 the zone data is local mean time, not a schedule. */
const EARLIEST = Date.UTC(1900, 0, 1);
const LATEST = Date.UTC(10_000, 0, 1);

function requireInstant(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw validationError(name, 'not a finite epoch-millisecond number');
  }
  if (value < EARLIEST || value >= LATEST) throw validationError(name, 'outside the years 1900-9999');
}

function nextAfter(schedule: CronSchedule, afterNominal: number): number | undefined {
  // A wall time fires after `afterNominal` exactly when the clock has not shown it (or a later
  // one) by then, i.e. when it lies beyond the highest reading so far.
  const threshold = wallClockHighWater(schedule.timezone, afterNominal);
  const wall = nextMatchingWallTime(schedule, threshold);
  if (wall === undefined) return undefined;
  const instant = firstInstantAtWall(schedule.timezone, wall);
  if (instant <= afterNominal) {
    throw new SchedulerError('INTERNAL', 'next fire time is not after the previous nominal time', {
      details: { expression: schedule.expression, timezone: schedule.timezone, afterNominal, instant },
    });
  }
  return instant;
}

/**
 * The next nominal fire instant (epoch ms) strictly after `afterNominal`, or undefined when the
 * expression has no match left before croner's year limit (9999).
 */
export function nextFireTime(schedule: CronSchedule, afterNominal: number): number | undefined {
  requireInstant('after_nominal', afterNominal);
  return nextAfter(schedule, afterNominal);
}

/** Nominal times in (afterNominal, untilInclusive], oldest first, without a count limit. */
export function* iterateFireTimes(
  schedule: CronSchedule,
  afterNominal: number,
  untilInclusive: number,
): Generator<number, void, undefined> {
  requireInstant('after_nominal', afterNominal);
  requireInstant('until', untilInclusive);
  let cursor = afterNominal;
  for (;;) {
    const next = nextAfter(schedule, cursor);
    if (next === undefined || next > untilInclusive) return;
    yield next;
    cursor = next;
  }
}

/**
 * Nominal times in (afterNominal, untilInclusive], oldest first, at most `limit` of them. A result
 * of exactly `limit` times may have more behind it: continue from its last element.
 */
export function fireTimesBetween(
  schedule: CronSchedule,
  afterNominal: number,
  untilInclusive: number,
  limit: number,
): number[] {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw validationError('limit', `${String(limit)} is not a positive integer`);
  }
  const times: number[] = [];
  for (const time of iterateFireTimes(schedule, afterNominal, untilInclusive)) {
    times.push(time);
    if (times.length === limit) break;
  }
  return times;
}
