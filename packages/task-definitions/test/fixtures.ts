import { randomUUID } from 'node:crypto';
import type { RecordedEvent } from '@openpenpal/event-store';
import { FIELD_DEFAULTS, type TaskDefinitionFields } from '../src/definitions/fields.ts';
import type { RecordedTaskEvent, TaskEvent } from '../src/definitions/events.ts';

export const T0 = Date.parse('2026-12-01T00:00:00Z');

export function fields(overrides: Partial<TaskDefinitionFields> = {}): TaskDefinitionFields {
  return {
    ...FIELD_DEFAULTS,
    name: 'Letter Status Cleanup',
    task_type: 'letter_cleanup',
    cron_expression: '0 3 * * *',
    payload: { days_old: 7 },
    ...overrides,
  };
}

/** Task events as the store would return them: revisions 0, 1, 2 … in the order given. */
export function recordedTask(events: readonly TaskEvent[]): RecordedTaskEvent[] {
  return events.map((event, revision) => ({
    ...event,
    id: randomUUID(),
    revision,
    position: BigInt(revision + 1),
    recordedAt: new Date(T0 + revision),
  }));
}

export const created = (
  taskId = 'cleanup',
  overrides: Partial<TaskDefinitionFields> = {},
  at = T0,
): TaskEvent => ({
  type: 'TaskCreated',
  data: { task_id: taskId, definition: fields(overrides), is_active: true, by: 'admin-1', at },
});

/** A recorded event of stream `execution-<id>` with the envelope fields an ExecutionEvent carries. */
export function executionEvent(
  executionId: string,
  type: string,
  data: Record<string, unknown>,
  recordedAt: number,
  envelope: Record<string, unknown> = {},
): { type: string; data: Record<string, unknown>; recordedAt: number } {
  return {
    type,
    data: {
      execution_id: executionId,
      task_id: 'cleanup',
      task_type: 'letter_cleanup',
      occurred_at: recordedAt,
      worker: null,
      ...envelope,
      ...data,
    },
    recordedAt,
  };
}

export function asRecorded(
  streamId: string,
  events: readonly { type: string; data: Record<string, unknown> }[],
): RecordedEvent[] {
  return events.map((event, revision) => ({
    id: randomUUID(),
    type: event.type,
    data: event.data,
    metadata: {},
    streamId,
    revision: BigInt(revision),
    position: BigInt(revision + 1),
    createdAt: new Date(T0 + revision),
  }));
}
