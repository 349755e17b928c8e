import { randomUUID } from 'node:crypto';
import type { ExecutionEvent } from '@openpenpal/contracts';
import type { EventData } from '@openpenpal/event-store';
import { describe, expect, it } from 'vitest';
import {
  planChunks,
  planMessage,
  type PlannedMessage,
  type RecordedMessage,
} from '../src/ingest/record-batches.ts';

const started = (executionId: string): ExecutionEvent => ({
  event_id: randomUUID(),
  execution_id: executionId,
  task_id: 'cleanup',
  task_type: 'letter_cleanup',
  occurred_at: 1_764_547_200_000,
  worker: null,
  event: { 'org.openpenpal.scheduler.ExecutionStarted': { attempt: 1, started_at: 1_764_547_200_000 } },
});

/** A message as the messaging layer hands it to a batch handler: decoded, with its Kafka coordinates. */
function consumed(
  offset: number,
  value: ExecutionEvent,
  headers: Record<string, string> = {},
  source = { topic: 't', partition: 0 },
): RecordedMessage {
  return {
    ...source,
    offset: String(offset),
    key: 'k',
    value,
    headers,
    messageId: headers['message-id'],
    timestamp: 1_764_547_200_000,
    attempt: 1,
  };
}

function planned(offset: number, streamId: string, id: string = randomUUID()): PlannedMessage {
  const event: EventData = { id, type: 'ExecutionStarted', data: {} };
  return { message: consumed(offset, started('x')), streamId, event };
}

const ids = (items: readonly PlannedMessage[]) =>
  items.map((item) => ('event' in item ? item.event.id : undefined));

describe('planning a slice of messages', () => {
  it('turns a message into its stream event with its source and trace context as metadata', () => {
    const value = started('e5b6f1a2-0000-4000-8000-000000000001');
    const item = planMessage(
      'execution',
      consumed(
        17,
        value,
        {
          'message-id': 'm-1',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          unrelated: 'x',
        },
        { topic: 'scheduler.execution-events', partition: 4 },
      ),
    );

    expect(item).toMatchObject({
      message: { offset: '17' },
      streamId: `execution-${value.execution_id}`,
      event: {
        id: value.event_id,
        type: 'ExecutionStarted',
        metadata: {
          topic: 'scheduler.execution-events',
          partition: 4,
          offset: '17',
          key: 'k',
          message_id: 'm-1',
          kafka_timestamp: 1_764_547_200_000,
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        },
      },
    });
    expect('event' in item && 'unrelated' in (item.event.metadata ?? {})).toBe(false);
  });

  it('says why a message cannot be recorded instead of throwing', () => {
    // Undecodable values and null values never reach the handler: the messaging layer dead-letters
    // them with DECODE_FAILED (recorder.int.test.ts checks it).
    const badId = planMessage('execution', consumed(3, { ...started('x'), event_id: 'not-a-uuid' }));

    expect(badId).toMatchObject({ message: { offset: '3' }, error: { code: 'VALIDATION_FAILED' } });
  });

  it('gives an empty key a stream of its own instead of refusing it', () => {
    const empty = planMessage('execution', consumed(4, started('')));

    expect(empty).toMatchObject({ message: { offset: '4' } });
    expect((empty as { streamId: string }).streamId).toMatch(/^execution-#[0-9a-f]{64}$/);
  });

  it('groups a chunk by stream, keeping each stream in message order', () => {
    const items = [
      planned(0, 'execution-a'),
      planned(1, 'execution-b'),
      planned(2, 'execution-a'),
      planned(3, 'execution-c'),
    ];
    const [chunk, ...rest] = planChunks(items, { maxEvents: 100, maxStreams: 10 });

    expect(rest).toEqual([]);
    expect(chunk!.events).toBe(4);
    expect(
      chunk!.requests.map((request) => [request.streamId, request.events.map((event) => event.id)]),
    ).toEqual([
      ['execution-a', [items[0], items[2]].map((item) => (item as { event: EventData }).event.id)],
      ['execution-b', [(items[1] as { event: EventData }).event.id]],
      ['execution-c', [(items[3] as { event: EventData }).event.id]],
    ]);
    expect(chunk!.requests.every((request) => request.onStored === 'skip')).toBe(true);
  });

  it('cuts chunks of consecutive messages at the event and stream limits', () => {
    const items = Array.from({ length: 10 }, (_, index) => planned(index, `execution-${index % 4}`));
    const byEvents = planChunks(items, { maxEvents: 4, maxStreams: 100 });
    const byStreams = planChunks(items, { maxEvents: 100, maxStreams: 3 });
    const chunkIds = (chunks: ReturnType<typeof planChunks>) =>
      chunks.map((chunk) => new Set(chunk.requests.flatMap((request) => request.events.map((e) => e.id))));

    expect(byEvents.map((chunk) => chunk.events)).toEqual([4, 4, 2]);
    // Consecutive: each chunk holds exactly the next messages.
    expect(chunkIds(byEvents)).toEqual([
      new Set(ids(items.slice(0, 4))),
      new Set(ids(items.slice(4, 8))),
      new Set(ids(items.slice(8))),
    ]);
    // Streams 0 1 2 | 3 0 1 | 2 3 0 | 1: a fourth stream starts the next chunk.
    expect(byStreams.map((chunk) => [chunk.events, chunk.requests.length])).toEqual([
      [3, 3],
      [3, 3],
      [3, 3],
      [1, 1],
    ]);
    expect(chunkIds(byStreams)).toEqual([
      new Set(ids(items.slice(0, 3))),
      new Set(ids(items.slice(3, 6))),
      new Set(ids(items.slice(6, 9))),
      new Set(ids(items.slice(9))),
    ]);
  });

  it('leaves out a repeated event id within a chunk and messages that cannot be recorded', () => {
    const id = randomUUID();
    const items: PlannedMessage[] = [
      planned(0, 'execution-a', id),
      { message: consumed(1, started('x')), error: new Error('bad') },
      planned(2, 'execution-a', id.toUpperCase()),
    ];
    const [chunk, ...rest] = planChunks(items, { maxEvents: 10, maxStreams: 10 });

    expect(rest).toEqual([]);
    expect(chunk).toMatchObject({ events: 1, repeated: 1 });
    expect(planChunks([items[1]!], { maxEvents: 10, maxStreams: 10 })).toEqual([]);
  });
});
