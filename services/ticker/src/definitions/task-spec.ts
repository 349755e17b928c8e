import type { TaskDefinition, TaskType } from '@openpenpal/contracts';
import {
  MISFIRE_POLICIES,
  checkRunLimits,
  fireTimesBetween,
  nextAllowedFireTime,
  planMisfires,
  validateCron,
  validateRunLimits,
  type CronSchedule,
  type MisfirePlan,
  type MisfirePolicy,
  type RunLimits,
} from '@openpenpal/cron';
import { SchedulerError } from '@openpenpal/errors';

type Timing =
  | { kind: 'cron'; schedule: CronSchedule }
  | { kind: 'once'; at: number }
  /** Neither cron nor scheduled_at: the task runs only on run_now. */
  | { kind: 'manual' };

/** A definition checked and compiled for scheduling. */
export interface TaskSpec {
  def: TaskDefinition;
  topic: string;
  timing: Timing;
  limits: RunLimits;
  policy: MisfirePolicy;
  graceMs: number;
  fireAllCap: number;
  forbid: boolean;
}

/** `scheduler.trigger.letter-cleanup` for `letter_cleanup` with the default prefix (the catalogue's name). */
export function triggerTopicFor(prefix: string, taskType: TaskType): string {
  return `${prefix}${taskType.replaceAll('_', '-')}`;
}

/**
 * Validated schedules shared by every task with the same expression and zone: a CronSchedule
 * holds a croner matcher of about 80 KiB, so 10,000 tasks would hold 800 MB while they use a few
 * dozen distinct expressions. Schedules are immutable, so sharing is safe; the cache is bounded.
 */
const schedules = new Map<string, CronSchedule>();
const MAX_SHARED_SCHEDULES = 2_048;

function sharedSchedule(expression: string, timezone: string): CronSchedule {
  const key = `${expression}\u0000${timezone}`;
  const known = schedules.get(key);
  if (known) return known;
  const schedule = validateCron(expression, timezone);
  if (schedules.size >= MAX_SHARED_SCHEDULES) schedules.clear();
  schedules.set(key, schedule);
  return schedule;
}

function invalid(taskId: string, field: string, problem: string): SchedulerError {
  return new SchedulerError('VALIDATION_FAILED', `task ${taskId}: ${field} ${problem}`, {
    details: { task_id: taskId, field, problem },
  });
}

function problemOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Checks a definition with the same functions the admin API uses (`validateCron`,
 * `validateRunLimits`) and compiles it; throws VALIDATION_FAILED naming the field.
 */
export function compileDefinition(def: TaskDefinition, topicPrefix: string): TaskSpec {
  const id = def.task_id;
  if (def.task_type === 'unknown') throw invalid(id, 'task_type', 'is unknown to this ticker');
  const cron = def.cron_expression ?? undefined;
  const at = def.scheduled_at ?? undefined;
  if (cron !== undefined && at !== undefined) {
    throw invalid(id, 'cron_expression', 'and scheduled_at are both set');
  }
  let timing: Timing;
  try {
    // A one-shot or manual task has no expression, yet its zone still reaches the handler: check it
    // with the same validator (a daily descriptor never fails on its own).
    const schedule = sharedSchedule(cron ?? '@daily', def.timezone);
    timing =
      cron !== undefined
        ? { kind: 'cron', schedule }
        : at !== undefined
          ? { kind: 'once', at }
          : { kind: 'manual' };
  } catch (error) {
    throw invalid(id, cron === undefined ? 'timezone' : 'cron_expression/timezone', problemOf(error));
  }
  let limits: RunLimits;
  try {
    limits = validateRunLimits({
      startDate: def.start_date ?? undefined,
      endDate: def.end_date ?? undefined,
      maxRuns: def.max_runs ?? undefined,
    });
  } catch (error) {
    throw invalid(id, 'run limits', problemOf(error));
  }
  if (!(MISFIRE_POLICIES as readonly string[]).includes(def.misfire_policy)) {
    throw invalid(id, 'misfire_policy', `${def.misfire_policy} is not a known policy`);
  }
  if (!Number.isFinite(def.misfire_grace_ms) || def.misfire_grace_ms < 0) {
    throw invalid(id, 'misfire_grace_ms', 'must be ≥ 0');
  }
  if (!Number.isSafeInteger(def.misfire_fire_all_cap) || def.misfire_fire_all_cap < 1) {
    throw invalid(id, 'misfire_fire_all_cap', 'must be a positive integer');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(def.payload);
  } catch (error) {
    throw invalid(id, 'payload', `is not JSON: ${problemOf(error)}`);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw invalid(id, 'payload', 'must be a JSON object');
  }
  return {
    def,
    topic: triggerTopicFor(topicPrefix, def.task_type),
    timing,
    limits,
    policy: def.misfire_policy,
    graceMs: def.misfire_grace_ms,
    fireAllCap: def.misfire_fire_all_cap,
    forbid: def.concurrency_policy === 'forbid',
  };
}

/** The first nominal time after `after` that the schedule and limits allow; undefined when none is left. */
export function nextDue(spec: TaskSpec, after: number, runCount: number): number | undefined {
  const { timing } = spec;
  switch (timing.kind) {
    case 'cron':
      return nextAllowedFireTime(timing.schedule, spec.limits, after, runCount);
    case 'once':
      return timing.at > after && checkRunLimits(spec.limits, timing.at, runCount).allowed
        ? timing.at
        : undefined;
    case 'manual':
      return undefined;
  }
}

/**
 * What to do with the task's nominal times in (lastNominal, now]: the cron package's misfire
 * planning for cron tasks; for a one-shot task the same rules applied to its single time.
 */
export function planDue(spec: TaskSpec, lastNominal: number, now: number, runCount: number): MisfirePlan {
  const { timing } = spec;
  switch (timing.kind) {
    case 'cron':
      return planMisfires({
        schedule: timing.schedule,
        lastNominal,
        now,
        policy: spec.policy,
        graceMs: spec.graceMs,
        fireAllCap: spec.fireAllCap,
        limits: spec.limits,
        runCount,
      });
    case 'once': {
      const { at } = timing;
      if (at <= lastNominal || at > now)
        return { fire: [], missed: [], next: nextDue(spec, lastNominal, runCount) };
      if (!checkRunLimits(spec.limits, at, runCount).allowed)
        return { fire: [], missed: [], next: undefined };
      if (now - at > spec.graceMs && spec.policy === 'skip') {
        return { fire: [], missed: [{ nominal: at, reason: 'misfire_skipped' }], next: undefined };
      }
      return { fire: [at], missed: [], next: undefined };
    }
    case 'manual':
      return { fire: [], missed: [], next: undefined };
  }
}

/** Where a task's history starts when the ticker first sees it: now, or just before a one-shot time already past. */
export function initialLastNominal(spec: TaskSpec, now: number): number {
  return spec.timing.kind === 'once' ? Math.min(now, spec.timing.at - 1) : now;
}

/** The task's nominal times in (after, until], at most `limit`, oldest first. */
export function timesBetween(spec: TaskSpec, after: number, until: number, limit: number): number[] {
  const { timing } = spec;
  switch (timing.kind) {
    case 'cron':
      return until > after ? fireTimesBetween(timing.schedule, after, until, limit) : [];
    case 'once':
      return timing.at > after && timing.at <= until ? [timing.at] : [];
    case 'manual':
      return [];
  }
}
