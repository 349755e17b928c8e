import type { TaskTrigger } from '@openpenpal/contracts';
import type { DelayClient } from '@openpenpal/delay-client';
import { exactExecutionId } from '@openpenpal/domain';
import type { TopicBinding } from '@openpenpal/messaging';

/** What an exact-time check trigger carries (the seeded task's id and limits, this service's payload). */
export interface CheckTriggerSpec {
  triggers: TopicBinding<'TaskTrigger'>;
  taskId: string;
  maxRetries: number;
  timeoutSecs: number;
  timeoutHours: number;
  reassignAfterReminders: number;
}

/**
 * The delayed-message id of one check of one task. The delay queue never schedules a fired id again,
 * so each due time has its own id; the pending one is recorded (scheduler_courier_timeout_checks)
 * for a delivery or failure to cancel.
 */
export function checkMessageId(taskId: string, dueAt: Date): string {
  return `courier_timeout_check:${taskId}:${dueAt.getTime()}`;
}

/** Asks the delay queue for the exact-time check of `taskId` at `dueAt` (once per id). */
export async function scheduleCheck(
  delay: DelayClient,
  spec: CheckTriggerSpec,
  taskId: string,
  dueAt: Date,
): Promise<void> {
  const due = dueAt.getTime();
  const trigger: TaskTrigger = {
    execution_id: exactExecutionId('courier_timeout_check', taskId, due),
    task_id: spec.taskId,
    task_type: 'courier_timeout_check',
    task_name: 'Courier Timeout Reminder',
    timezone: 'UTC',
    nominal_time: due,
    fire_time: due,
    attempt: 1,
    max_retries: spec.maxRetries,
    timeout_secs: spec.timeoutSecs,
    payload: JSON.stringify({
      timeout_hours: spec.timeoutHours,
      reassign_after_reminders: spec.reassignAfterReminders,
    }),
    source: 'delayed',
    fencing_token: 0,
    original_execution_id: null,
    business_key: taskId,
  };
  await delay.schedule({
    messageId: checkMessageId(taskId, dueAt),
    dueAt: due,
    ifPending: 'keep',
    // Keyed by the courier task, not the seeded task: the checks of many tasks spread over the
    // partitions, so every replica of this service takes a share (one key put them all on one).
    target: { binding: spec.triggers, key: taskId, value: trigger },
  });
}
