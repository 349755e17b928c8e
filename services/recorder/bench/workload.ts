import { randomUUID } from 'node:crypto';
import type { ExecutionEvent } from '@openpenpal/contracts';

/** A ten-event life: two failed attempts with retries, then a third that succeeds. */
function life(executionId: string, index: number, at: number): ExecutionEvent[] {
  const base = {
    execution_id: executionId,
    task_id: `task-${index % 50}`,
    task_type: 'letter_cleanup' as const,
    worker: 'bench-1',
  };
  const make = (offset: number, event: ExecutionEvent['event']): ExecutionEvent => ({
    ...base,
    event_id: randomUUID(),
    occurred_at: at + offset,
    event,
  });
  const triggered = (attempt: number, offset: number) =>
    make(offset, {
      'org.openpenpal.scheduler.TaskTriggered': {
        nominal_time: at,
        fire_time: at + offset,
        attempt,
        source: attempt === 1 ? 'cron' : 'retry',
        fencing_token: 9,
        trigger_topic: 'scheduler.trigger.letter-cleanup',
        original_execution_id: null,
        business_key: null,
      },
    });
  const started = (attempt: number, offset: number) =>
    make(offset, { 'org.openpenpal.scheduler.ExecutionStarted': { attempt, started_at: at + offset } });
  const failed = (attempt: number, offset: number) =>
    make(offset, {
      'org.openpenpal.scheduler.ExecutionFailed': {
        attempt,
        failed_at: at + offset,
        duration_ms: 40,
        error_code: 'HANDLER_FAILED',
        error_message: 'database timeout',
        retryable: true,
      },
    });
  const retry = (next: number, offset: number) =>
    make(offset, {
      'org.openpenpal.scheduler.ExecutionRetryScheduled': {
        next_attempt: next,
        retry_at: at + offset + 1000,
        delay_ms: 1000,
      },
    });
  return [
    triggered(1, 0),
    started(1, 1),
    failed(1, 41),
    retry(2, 42),
    triggered(2, 1042),
    started(2, 1043),
    failed(2, 1083),
    retry(3, 1084),
    triggered(3, 2084),
    make(2130, {
      'org.openpenpal.scheduler.ExecutionSucceeded': {
        attempt: 3,
        succeeded_at: at + 2130,
        duration_ms: 45,
        result: '{"moved":12}',
      },
    }),
  ];
}

/** Events in waves (every execution's first event, then every second one …): the most streams per batch. */
export function workload(executions: number, perExecution: number, at: number): ExecutionEvent[] {
  const lives = Array.from({ length: executions }, (_, index) => life(randomUUID(), index, at + index));
  const events: ExecutionEvent[] = [];
  for (let step = 0; step < perExecution; step++) for (const one of lives) events.push(one[step % 10]!);
  return events;
}
