import type { ExecutionEvent, SkipReason, TaskTrigger } from '@openpenpal/contracts';
import { parse, v5 } from 'uuid';

/**
 * The handler kit's UUID v5 namespace. Fixed forever: an attempt that runs again after a crash
 * writes its events under the same ids, which the recorder stores once.
 */
const namespace = parse('5b3c8a7e-2f41-4c8e-9d6a-0e7f1c2b3a49');

type Branch = ExecutionEvent['event'];

function envelope(
  trigger: TaskTrigger,
  kind: string,
  occurredAt: number,
  worker: string,
  event: Branch,
): ExecutionEvent {
  return {
    event_id: v5(`${trigger.execution_id}:${trigger.attempt}:${kind}`, namespace),
    execution_id: trigger.execution_id,
    task_id: trigger.task_id,
    task_type: trigger.task_type,
    occurred_at: occurredAt,
    worker,
    event,
  };
}

/**
 * TaskTriggered for a trigger no ticker fired (an exact-time trigger the delay queue published):
 * the history then says when it fired, why and for which item, as for cron firings. `firedAt` is
 * the trigger's publish time (its Kafka timestamp).
 */
export function triggeredEvent(
  trigger: TaskTrigger,
  firedAt: number,
  triggerTopic: string,
  worker: string,
): ExecutionEvent {
  return envelope(trigger, 'triggered', firedAt, worker, {
    'org.openpenpal.scheduler.TaskTriggered': {
      nominal_time: trigger.nominal_time,
      fire_time: firedAt,
      attempt: trigger.attempt,
      source: trigger.source,
      fencing_token: trigger.fencing_token,
      trigger_topic: triggerTopic,
      original_execution_id: trigger.original_execution_id ?? null,
      business_key: trigger.business_key ?? null,
    },
  });
}

export function startedEvent(trigger: TaskTrigger, at: number, worker: string): ExecutionEvent {
  return envelope(trigger, 'started', at, worker, {
    'org.openpenpal.scheduler.ExecutionStarted': { attempt: trigger.attempt, started_at: at },
  });
}

export function succeededEvent(
  trigger: TaskTrigger,
  at: number,
  durationMs: number,
  result: Record<string, unknown> | undefined,
  worker: string,
): ExecutionEvent {
  return envelope(trigger, 'succeeded', at, worker, {
    'org.openpenpal.scheduler.ExecutionSucceeded': {
      attempt: trigger.attempt,
      succeeded_at: at,
      duration_ms: durationMs,
      result: result === undefined ? null : JSON.stringify(result),
    },
  });
}

export function skippedEvent(
  trigger: TaskTrigger,
  at: number,
  reason: SkipReason,
  detail: string | undefined,
  worker: string,
): ExecutionEvent {
  return envelope(trigger, 'skipped', at, worker, {
    'org.openpenpal.scheduler.ExecutionSkipped': { reason, skipped_at: at, detail: detail ?? null },
  });
}

export function failedEvent(
  trigger: TaskTrigger,
  at: number,
  durationMs: number,
  error: { code: string; message: string; retryable: boolean },
  worker: string,
): ExecutionEvent {
  return envelope(trigger, 'failed', at, worker, {
    'org.openpenpal.scheduler.ExecutionFailed': {
      attempt: trigger.attempt,
      failed_at: at,
      duration_ms: durationMs,
      error_code: error.code,
      error_message: error.message,
      retryable: error.retryable,
    },
  });
}

export function retryScheduledEvent(
  trigger: TaskTrigger,
  at: number,
  retryAt: number,
  worker: string,
): ExecutionEvent {
  return envelope(trigger, 'retry-scheduled', at, worker, {
    'org.openpenpal.scheduler.ExecutionRetryScheduled': {
      next_attempt: trigger.attempt + 1,
      retry_at: retryAt,
      delay_ms: retryAt - at,
    },
  });
}

export function deadLetteredEvent(
  trigger: TaskTrigger,
  at: number,
  error: { code: string; message: string },
  deadLetterTopic: string,
  worker: string,
): ExecutionEvent {
  return envelope(trigger, 'dead-lettered', at, worker, {
    'org.openpenpal.scheduler.ExecutionDeadLettered': {
      attempts: trigger.attempt,
      error_code: error.code,
      error_message: error.message,
      dead_letter_topic: deadLetterTopic,
    },
  });
}

/** The delayed-message id of an execution's next attempt: one per attempt, so a re-send schedules it once. */
export function retryMessageId(trigger: TaskTrigger): string {
  return `retry:${trigger.execution_id}:${trigger.attempt + 1}`;
}
