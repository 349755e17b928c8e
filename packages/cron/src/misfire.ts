import { iterateFireTimes } from './fire-times.ts';
import { nextAllowedFireTime, validateRunLimits, type RunLimits } from './run-limits.ts';
import type { CronSchedule } from './schedule.ts';
import { validationError } from './validation-error.ts';

export const MISFIRE_POLICIES = ['fire_once', 'skip', 'fire_all'] as const;
export type MisfirePolicy = (typeof MISFIRE_POLICIES)[number];

export const DEFAULT_MISFIRE_POLICY: MisfirePolicy = 'fire_once';
/** A nominal time up to this late still fires as if on time (a restart, a short leader hand-over). */
export const DEFAULT_MISFIRE_GRACE_MS = 60_000;
/** How many missed times `fire_all` fires at most after one outage. */
export const DEFAULT_FIRE_ALL_CAP = 100;

export type MissedReason = 'misfire_skipped' | 'superseded' | 'cap_exceeded';

export interface MissedFire {
  readonly nominal: number;
  readonly reason: MissedReason;
}

export interface MisfirePlan {
  /** Nominal times to fire now, oldest first. */
  readonly fire: number[];
  /** Nominal times that will never fire, oldest first; each becomes a TaskMissed event. */
  readonly missed: MissedFire[];
  /** The first nominal time after `now` the limits allow; undefined when the schedule is exhausted. */
  readonly next: number | undefined;
}

export interface PlanMisfiresInput {
  readonly schedule: CronSchedule;
  /** The last nominal time already handled (fired or recorded missed); for a new task, when it was enabled. */
  readonly lastNominal: number;
  readonly now: number;
  readonly policy?: MisfirePolicy | undefined;
  readonly graceMs?: number | undefined;
  readonly fireAllCap?: number | undefined;
  readonly limits?: RunLimits | undefined;
  /** Runs started so far, for `limits.maxRuns`. */
  readonly runCount?: number | undefined;
}

function isPolicy(value: unknown): value is MisfirePolicy {
  return (MISFIRE_POLICIES as readonly unknown[]).includes(value);
}

function missedAs(reason: MissedReason, nominals: readonly number[]): MissedFire[] {
  return nominals.map((nominal) => ({ nominal, reason }));
}

/** Applies the policy to the due times; `late` are misfires, `onTime` are within the grace window. */
function applyPolicy(
  policy: MisfirePolicy,
  late: readonly number[],
  onTime: readonly number[],
  fireAllCap: number,
): { fire: number[]; missed: MissedFire[] } {
  switch (policy) {
    case 'skip':
      return { fire: [...onTime], missed: missedAs('misfire_skipped', late) };
    case 'fire_once': {
      // One catch-up run: an on-time run already is one, so every misfire is superseded by it.
      if (onTime.length > 0) return { fire: [...onTime], missed: missedAs('superseded', late) };
      const latest = late.at(-1);
      if (latest === undefined) return { fire: [], missed: [] };
      return { fire: [latest], missed: missedAs('superseded', late.slice(0, -1)) };
    }
    case 'fire_all': {
      // Keeps the most recent misfires: the oldest are the stalest, and the kept ones join the
      // on-time runs without a hole between them.
      const dropped = Math.max(0, late.length - fireAllCap);
      return {
        fire: [...late.slice(dropped), ...onTime],
        missed: missedAs('cap_exceeded', late.slice(0, dropped)),
      };
    }
  }
}

/**
 * What to do with the nominal times in (lastNominal, now] after downtime, a pause or a leader
 * hand-over. Times at most `graceMs` old are not misfires and fire under every policy. Older ones:
 * - `fire_once`: one catch-up run. If an on-time run exists it is that run; otherwise the latest
 *   misfire fires. Every other misfire is recorded `superseded`.
 * - `skip`: no misfire fires; each is recorded `misfire_skipped`.
 * - `fire_all`: the latest `fireAllCap` misfires fire; older ones are recorded `cap_exceeded`.
 * With `limits`, times outside [startDate, endDate] are ignored, and no more times fire than
 * `maxRuns - runCount` (the oldest first: the task's life ends with its last permitted run).
 */
export function planMisfires(input: PlanMisfiresInput): MisfirePlan {
  const { schedule, lastNominal, now } = input;
  const policy = input.policy ?? DEFAULT_MISFIRE_POLICY;
  const graceMs = input.graceMs ?? DEFAULT_MISFIRE_GRACE_MS;
  const fireAllCap = input.fireAllCap ?? DEFAULT_FIRE_ALL_CAP;
  const runCount = input.runCount ?? 0;
  if (!isPolicy(policy)) {
    throw validationError('misfire_policy', `must be one of ${MISFIRE_POLICIES.join(', ')}`);
  }
  if (!Number.isFinite(graceMs) || graceMs < 0) {
    throw validationError('misfire_grace', 'must be a finite number ≥ 0');
  }
  if (!Number.isSafeInteger(fireAllCap) || fireAllCap < 1) {
    throw validationError('fire_all_cap', `${String(fireAllCap)} is not a positive integer`);
  }
  if (!Number.isSafeInteger(runCount) || runCount < 0) {
    throw validationError('run_count', `${String(runCount)} is not a non-negative integer`);
  }
  if (!Number.isFinite(lastNominal)) throw validationError('last_nominal', 'not a finite number');
  if (!Number.isFinite(now)) throw validationError('now', 'not a finite number');
  const limits = validateRunLimits(input.limits ?? {});
  const remainingRuns = limits.maxRuns === undefined ? Number.POSITIVE_INFINITY : limits.maxRuns - runCount;
  if (remainingRuns <= 0) return { fire: [], missed: [], next: undefined };

  const from = limits.startDate === undefined ? lastNominal : Math.max(lastNominal, limits.startDate - 1);
  const until = limits.endDate === undefined ? now : Math.min(now, limits.endDate);
  const late: number[] = [];
  const onTime: number[] = [];
  if (until > from) {
    for (const nominal of iterateFireTimes(schedule, from, until)) {
      (now - nominal > graceMs ? late : onTime).push(nominal);
    }
  }
  const planned = applyPolicy(policy, late, onTime, fireAllCap);
  const fire = planned.fire.slice(0, remainingRuns);
  return {
    fire,
    missed: planned.missed,
    next: nextAllowedFireTime(schedule, limits, Math.max(now, lastNominal), runCount + fire.length),
  };
}
