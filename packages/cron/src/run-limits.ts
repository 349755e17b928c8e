import { nextFireTime } from './fire-times.ts';
import type { CronSchedule } from './schedule.ts';
import { validationError } from './validation-error.ts';

/**
 * A definition's `start_date`, `end_date` (both inclusive, epoch ms) and `max_runs`. Nominal times
 * outside [startDate, endDate] are not the task's times at all: they neither fire nor count as
 * missed. `maxRuns` counts runs started, whatever their outcome.
 */
export interface RunLimits {
  readonly startDate?: number | undefined;
  readonly endDate?: number | undefined;
  readonly maxRuns?: number | undefined;
}

export type RunDecision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      readonly reason: 'before_start' | 'after_end' | 'max_runs_reached';
      /** True when no later nominal time can ever be allowed either. */
      readonly exhausted: boolean;
    };

/** Checks limits as the admin API receives them; the same rules the ticker relies on. */
export function validateRunLimits(limits: RunLimits): RunLimits {
  const { startDate, endDate, maxRuns } = limits;
  if (startDate !== undefined && !Number.isFinite(startDate)) {
    throw validationError('start_date', 'not a finite epoch-millisecond number');
  }
  if (endDate !== undefined && !Number.isFinite(endDate)) {
    throw validationError('end_date', 'not a finite epoch-millisecond number');
  }
  if (startDate !== undefined && endDate !== undefined && endDate < startDate) {
    throw validationError('end_date', 'end_date is before start_date');
  }
  if (maxRuns !== undefined && (!Number.isSafeInteger(maxRuns) || maxRuns < 1)) {
    throw validationError('max_runs', `${String(maxRuns)} is not a positive integer`);
  }
  return { startDate, endDate, maxRuns };
}

function requireRunCount(runCount: number): void {
  if (!Number.isSafeInteger(runCount) || runCount < 0) {
    throw validationError('run_count', `${String(runCount)} is not a non-negative integer`);
  }
}

/** Whether a nominal time may fire, given how many runs the task has had so far. */
export function checkRunLimits(limits: RunLimits, nominal: number, runCount: number): RunDecision {
  requireRunCount(runCount);
  if (limits.maxRuns !== undefined && runCount >= limits.maxRuns) {
    return { allowed: false, reason: 'max_runs_reached', exhausted: true };
  }
  if (limits.endDate !== undefined && nominal > limits.endDate) {
    return { allowed: false, reason: 'after_end', exhausted: true };
  }
  if (limits.startDate !== undefined && nominal < limits.startDate) {
    return { allowed: false, reason: 'before_start', exhausted: false };
  }
  return { allowed: true };
}

/**
 * The next nominal time after `afterNominal` that the limits allow, or undefined when the schedule
 * is exhausted (max_runs reached, or no nominal time left before end_date).
 */
export function nextAllowedFireTime(
  schedule: CronSchedule,
  limits: RunLimits,
  afterNominal: number,
  runCount: number,
): number | undefined {
  requireRunCount(runCount);
  if (limits.maxRuns !== undefined && runCount >= limits.maxRuns) return undefined;
  const from = limits.startDate === undefined ? afterNominal : Math.max(afterNominal, limits.startDate - 1);
  const next = nextFireTime(schedule, from);
  if (next === undefined || (limits.endDate !== undefined && next > limits.endDate)) return undefined;
  return next;
}
