import type { TaskCommand, TaskDefinition } from '@openpenpal/contracts';
import { nextAllowedFireTime, validateCron } from '@openpenpal/cron';
import type { TaskRunRequested } from './events.ts';
import type { TaskState } from './fold.ts';

/**
 * The Avro value of a task's current definition, as the compacted task-definitions topic carries it.
 * `revision` is the revision of the last definition change, which is what consumers order updates by.
 */
export function toTaskDefinitionValue(state: TaskState): TaskDefinition {
  return {
    task_id: state.task_id,
    name: state.name,
    description: state.description,
    task_type: state.task_type,
    priority: state.priority,
    cron_expression: state.cron_expression,
    timezone: state.timezone,
    scheduled_at: state.scheduled_at,
    payload: JSON.stringify(state.payload),
    max_retries: state.max_retries,
    timeout_secs: state.timeout_secs,
    is_active: state.is_active,
    start_date: state.start_date,
    end_date: state.end_date,
    max_runs: state.max_runs,
    misfire_policy: state.misfire_policy,
    misfire_grace_ms: state.misfire_grace_ms,
    misfire_fire_all_cap: state.misfire_fire_all_cap,
    concurrency_policy: state.concurrency_policy,
    revision: state.definition_revision,
    created_by: state.created_by,
    created_at: state.created_at,
    updated_at: state.updated_at,
  };
}

/** The message for the task-definitions topic: the definition, or a tombstone (null) for a deleted task. */
export function definitionMessage(state: TaskState): { key: string; value: TaskDefinition | null } {
  return { key: state.task_id, value: state.deleted ? null : toTaskDefinitionValue(state) };
}

/** The ticker's run_now command for a recorded run request; the event id is the command id. */
export function runNowCommand(eventId: string, event: TaskRunRequested): TaskCommand {
  return {
    command_id: eventId,
    command: 'run_now',
    task_id: event.data.task_id,
    requested_by: event.data.by,
    requested_at: event.data.at,
    reason: event.data.reason,
    payload_override:
      event.data.payload_override === null ? null : JSON.stringify(event.data.payload_override),
  };
}

/**
 * The next time the task fires on its own, for the admin API's `next_run_at`: computed when asked, from
 * `now` and the runs so far, with the same cron functions the ticker uses. A stored value would go stale
 * as time passes (and differ between a live read model and a rebuilt one).
 */
export function computeNextRunAt(
  task: Pick<
    TaskState,
    'cron_expression' | 'timezone' | 'scheduled_at' | 'start_date' | 'end_date' | 'max_runs' | 'is_active'
  > & { deleted?: boolean },
  at: { now: number; runCount: number },
): number | null {
  if (!task.is_active || task.deleted === true) return null;
  if (task.max_runs !== null && at.runCount >= task.max_runs) return null;
  if (task.cron_expression !== null) {
    const schedule = validateCron(task.cron_expression, task.timezone);
    const limits = {
      startDate: task.start_date ?? undefined,
      endDate: task.end_date ?? undefined,
      maxRuns: task.max_runs ?? undefined,
    };
    return nextAllowedFireTime(schedule, limits, at.now, at.runCount) ?? null;
  }
  if (task.scheduled_at !== null && task.scheduled_at > at.now) return task.scheduled_at;
  return null;
}
