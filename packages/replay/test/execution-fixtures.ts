import { randomUUID } from 'node:crypto';
import type { ExecutionEvent } from '@openpenpal/contracts';

export const T0 = Date.parse('2026-12-01T00:00:00Z');

/** The Avro values of one execution that was triggered, started, then succeeded or failed for good. */
export function executionEvents(executionId: string, outcome: 'failed' | 'succeeded'): ExecutionEvent[] {
  const envelope = {
    execution_id: executionId,
    task_id: 'cleanup',
    task_type: 'letter_cleanup' as const,
    worker: 'w1',
  };
  const events: ExecutionEvent[] = [
    {
      ...envelope,
      event_id: randomUUID(),
      occurred_at: T0,
      event: {
        'org.openpenpal.scheduler.TaskTriggered': {
          nominal_time: T0,
          fire_time: T0,
          attempt: 1,
          source: 'cron',
          fencing_token: 7,
          trigger_topic: 'scheduler.trigger.letter-cleanup',
          original_execution_id: null,
          business_key: 'letter-42',
        },
      },
    },
    {
      ...envelope,
      event_id: randomUUID(),
      occurred_at: T0 + 1,
      event: { 'org.openpenpal.scheduler.ExecutionStarted': { attempt: 1, started_at: T0 + 1 } },
    },
  ];
  if (outcome === 'succeeded') {
    events.push({
      ...envelope,
      event_id: randomUUID(),
      occurred_at: T0 + 5,
      event: {
        'org.openpenpal.scheduler.ExecutionSucceeded': {
          attempt: 1,
          succeeded_at: T0 + 5,
          duration_ms: 4,
          result: null,
        },
      },
    });
    return events;
  }
  for (const [at, event] of [
    [
      T0 + 5,
      {
        'org.openpenpal.scheduler.ExecutionFailed': {
          attempt: 1,
          failed_at: T0 + 5,
          duration_ms: 4,
          error_code: 'NON_RETRYABLE_FAILURE',
          error_message: 'bad data',
          retryable: false,
        },
      },
    ],
    [
      T0 + 6,
      {
        'org.openpenpal.scheduler.ExecutionDeadLettered': {
          attempts: 1,
          error_code: 'NON_RETRYABLE_FAILURE',
          error_message: 'bad data',
          dead_letter_topic: 'x.dlq',
        },
      },
    ],
  ] as const) {
    events.push({ ...envelope, event_id: randomUUID(), occurred_at: at, event });
  }
  return events;
}
