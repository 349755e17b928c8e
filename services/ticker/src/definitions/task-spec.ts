import type { TaskDefinition, TaskType } from '@openpenpal/contracts';
import {
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
import { SchedulerError, isSchedulerError } from '@openpenpal/errors';
import { checkDefinitionValue } from '@openpenpal/task-definitions/validation';

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

/** The expression a task without one is checked and compiled with: its zone still reaches the handler. */
const ZONE_ONLY = '0 0 * * *';

/** The shared rules' VALIDATION_FAILED, with the task it is about. */
function forTask(taskId: string, error: unknown): unknown {
  if (!isSchedulerError(error) || error.code !== 'VALIDATION_FAILED') return error;
  return new SchedulerError('VALIDATION_FAILED', `task ${JSON.stringify(taskId)}: ${error.message}`, {
    details: { ...error.details, task_id: taskId },
    cause: error,
  });
}

/**
 * Checks a definition with the rules the admin API applies (`checkDefinitionValue` from
 * `@openpenpal/task-definitions`: the same field ranges, ids, time range, and the cron package's
 * `validateCron` and `validateRunLimits`) and compiles it; throws VALIDATION_FAILED naming every
 * bad field. Nothing the ticker writes can then carry a value its consumers refuse.
 */
export function compileDefinition(def: TaskDefinition, topicPrefix: string): TaskSpec {
  try {
    checkDefinitionValue(def, { schedule: sharedSchedule });
  } catch (error) {
    throw forTask(def.task_id, error);
  }
  const cron = def.cron_expression ?? undefined;
  const at = def.scheduled_at ?? undefined;
  const schedule = sharedSchedule(cron ?? ZONE_ONLY, def.timezone);
  const timing: Timing =
    cron !== undefined
      ? { kind: 'cron', schedule }
      : at !== undefined
        ? { kind: 'once', at }
        : { kind: 'manual' };
  return {
    def,
    topic: triggerTopicFor(topicPrefix, def.task_type),
    timing,
    limits: validateRunLimits({
      startDate: def.start_date ?? undefined,
      endDate: def.end_date ?? undefined,
      maxRuns: def.max_runs ?? undefined,
    }),
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
