import { randomUUID } from 'node:crypto';
import { createContracts, type ExecutionEvent } from '@openpenpal/contracts';
import type { EventData } from '@openpenpal/event-store';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { planChunks, planMessage, type PlannedMessage } from '../src/ingest/record-batches.ts';

const contracts = createContracts();
const codec = contracts.codec('ExecutionEvent');

function kafkaMessage(
  offset: number,
  value: Buffer | null,
  headers: Record<string, string> = {},
): KafkaMessage {
  return {
    offset: String(offset),
    key: Buffer.from('k'),
    value,
    headers: Object.fromEntries(Object.entries(headers).map(([name, text]) => [name, Buffer.from(text)])),
    timestamp: '1764547200000',
    attributes: 0,
  };
}

function planned(offset: number, streamId: string, id: string = randomUUID()): PlannedMessage {
  const event: EventData = { id, type: 'ExecutionStarted', data: {} };
  return { offset: String(offset), message: kafkaMessage(offset, null), streamId, event };
}

const started = (executionId: string): ExecutionEvent => ({
  event_id: randomUUID(),
  execution_id: executionId,
  task_id: 'cleanup',
  task_type: 'letter_cleanup',
  occurred_at: 1_764_547_200_000,
  worker: null,
  event: { 'org.openpenpal.scheduler.ExecutionStarted': { attempt: 1, started_at: 1_764_547_200_000 } },
});

describe('planning a Kafka batch', () => {
  it('turns a message into its stream event with its source and trace context as metadata', () => {
    const value = started('e5b6f1a2-0000-4000-8000-000000000001');
    const item = planMessage(
      contracts,
      'execution',
      { topic: 'scheduler.execution-events', partition: 4 },
      kafkaMessage(17, codec.encode(value), {
        'message-id': 'm-1',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        unrelated: 'x',
      }),
    );

    expect(item).toMatchObject({
      offset: '17',
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
    const source = { topic: 't', partition: 0 };
    const empty = planMessage(contracts, 'execution', source, kafkaMessage(1, null));
    const garbage = planMessage(contracts, 'execution', source, kafkaMessage(2, Buffer.from('nope')));
    const badId = planMessage(
      contracts,
      'execution',
      source,
      kafkaMessage(3, codec.encode({ ...started('x'), event_id: 'not-a-uuid' })),
    );

    expect(empty).toMatchObject({ offset: '1', error: { code: 'DECODE_FAILED' } });
    expect(garbage).toMatchObject({ error: { code: 'DECODE_FAILED' } });
    expect(badId).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });

  it('groups a chunk by stream, keeping each stream in message order and committing its last offset', () => {
    const items = [
      planned(0, 'execution-a'),
      planned(1, 'execution-b'),
      planned(2, 'execution-a'),
      planned(3, 'execution-c'),
    ];
    const [chunk, ...rest] = planChunks(items, { maxEvents: 100, maxStreams: 10 });

    expect(rest).toEqual([]);
    expect(chunk!.lastOffset).toBe('3');
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

    expect(byEvents.map((chunk) => [chunk.lastOffset, chunk.events])).toEqual([
      ['3', 4],
      ['7', 4],
      ['9', 2],
    ]);
    // Streams 0 1 2 | 3 0 1 | 2 3 0 | 1: a fourth stream starts the next chunk.
    expect(byStreams.map((chunk) => [chunk.lastOffset, chunk.requests.length])).toEqual([
      ['2', 3],
      ['5', 3],
      ['8', 3],
      ['9', 1],
    ]);
  });

  it('leaves out a repeated event id within a chunk and lets undecodable messages only move the offset', () => {
    const id = randomUUID();
    const items: PlannedMessage[] = [
      planned(0, 'execution-a', id),
      { offset: '1', message: kafkaMessage(1, null), error: new Error('bad') },
      planned(2, 'execution-a', id.toUpperCase()),
    ];
    const [chunk] = planChunks(items, { maxEvents: 10, maxStreams: 10 });

    expect(chunk).toMatchObject({ lastOffset: '2', events: 1, repeated: 1 });
    expect(planChunks([items[1]!], { maxEvents: 10, maxStreams: 10 })).toEqual([
      { requests: [], lastOffset: '1', events: 0, repeated: 0 },
    ]);
  });
});
