import { randomUUID } from 'node:crypto';
import {
  createContracts,
  type DelayedMessageEvent,
  type ExecutionEvent,
  type NotificationEvent,
} from '@openpenpal/contracts';
import type { RecordedEvent } from '@openpenpal/event-store';
import { describe, expect, it } from 'vitest';
import { NUL_ESCAPED, recordedKeyOf, recordedStreamId, toAvroValue, toStoredEvent } from '../src/index.ts';
import { T0 } from './fixtures.ts';

const contracts = createContracts();
const id = 'a5b0d3f2-6c1e-4e55-9a0e-111111111111';

describe('recorded events and their Avro values', () => {
  const metadata = { topic: 't', partition: 0, offset: '1' };
  const recorded = (stored: ReturnType<typeof toStoredEvent>): RecordedEvent => ({
    ...stored.event,
    metadata,
    data: stored.event.data,
    streamId: stored.streamId,
    revision: 0n,
    position: 1n,
    createdAt: new Date(T0),
  });

  it('stores an execution event flat in its execution stream and rebuilds the value from it', () => {
    const value: ExecutionEvent = {
      event_id: randomUUID(),
      execution_id: id,
      task_id: 'cleanup',
      task_type: 'letter_cleanup',
      occurred_at: T0,
      worker: 'w1',
      event: { 'org.openpenpal.scheduler.ExecutionStarted': { attempt: 2, started_at: T0 } },
    };
    const stored = toStoredEvent('execution', value, metadata);

    expect(stored).toEqual({
      streamId: `execution-${id}`,
      event: {
        id: value.event_id,
        type: 'ExecutionStarted',
        data: {
          execution_id: id,
          task_id: 'cleanup',
          task_type: 'letter_cleanup',
          occurred_at: T0,
          worker: 'w1',
          attempt: 2,
          started_at: T0,
        },
        metadata,
      },
    });
    const codec = contracts.codec('ExecutionEvent');
    expect(codec.decode(codec.encode(toAvroValue(contracts, 'execution', recorded(stored))))).toEqual(value);
  });

  it('round-trips delayed-message and notification events through their streams', () => {
    const delayed: DelayedMessageEvent = {
      event_id: randomUUID(),
      message_id: 'future_letter_unlock:letter-9',
      request_id: null,
      occurred_at: T0,
      event: {
        'org.openpenpal.scheduler.DelayedMessageDispatched': {
          due_at: T0,
          dispatched_at: T0 + 4,
          lateness_ms: 4,
          target_topic: 'scheduler.trigger.future-letter-unlock',
          redelivered: false,
        },
      },
    };
    const notification: NotificationEvent = {
      event_id: randomUUID(),
      notification_id: randomUUID(),
      user_id: 'u1',
      type: 'daily_inspiration',
      execution_id: null,
      occurred_at: T0,
      event: {
        'org.openpenpal.scheduler.NotificationDeferred': { until: T0 + 3_600_000, reason: 'quiet_hours' },
      },
    };
    const storedDelayed = toStoredEvent('delayed', delayed, metadata);
    const storedNotification = toStoredEvent('notification', notification, metadata);

    expect(storedDelayed.streamId).toBe('delayed-future_letter_unlock:letter-9');
    expect(storedNotification.streamId).toBe(`notification-${notification.notification_id}`);
    expect(storedNotification.event.data.type).toBe('daily_inspiration');
    expect(toAvroValue(contracts, 'delayed', recorded(storedDelayed))).toEqual(delayed);
    expect(toAvroValue(contracts, 'notification', recorded(storedNotification))).toEqual(notification);
  });

  it('gives every key a stream of its own, keeping ordinary keys as they are', () => {
    const ordinary = ['future_letter_unlock:letter-9', id, 'a'.repeat(500 - 'delayed-'.length), 'a#b', ' x '];
    for (const key of ordinary) expect(recordedStreamId('delayed', key)).toBe(`delayed-${key}`);
    const unusual = [
      '',
      '\u0000',
      'a\u0000b',
      'a\u0000c',
      'line\nbreak',
      '\u007f',
      '\u0085',
      'a'.repeat(500 - 'delayed-'.length + 1),
      '#already-hashed-looking',
      '\ud800',
      '\udc00',
    ];
    const streams = unusual.map((key) => recordedStreamId('delayed', key));
    for (const stream of streams) {
      expect(stream).toMatch(/^delayed-#[0-9a-f]{64}$/);
      expect(stream).not.toMatch(/\p{Cc}/u);
    }
    expect(new Set([...streams, ...ordinary.map((key) => recordedStreamId('delayed', key))]).size).toBe(
      unusual.length + ordinary.length,
    );
    // Each category keeps its own limit: the same long key fits one and not the other.
    const long = 'n'.repeat(500 - 'delayed-'.length);
    expect(recordedStreamId('delayed', long)).toBe(`delayed-${long}`);
    expect(recordedStreamId('notification', long)).toMatch(/^notification-#/);
  });

  it('stores text without NUL characters and gives it back as it was produced', () => {
    const delayed: DelayedMessageEvent = {
      event_id: randomUUID(),
      message_id: 'letter-\u0000-100%',
      request_id: null,
      occurred_at: T0,
      event: {
        'org.openpenpal.scheduler.DelayedMessageRejected': {
          error_code: 'VALIDATION_FAILED',
          reason: '%00 is not NUL',
        },
      },
    };
    const stored = toStoredEvent('delayed', delayed, { key: delayed.message_id, partition: 0 });

    expect(JSON.stringify(stored)).not.toContain('\\u0000');
    expect(stored.event.data).toMatchObject({ message_id: 'letter-%00-100%25', reason: '%00 is not NUL' });
    expect(stored.event.metadata).toEqual({
      key: 'letter-%00-100%25',
      partition: 0,
      [NUL_ESCAPED]: { data: ['message_id'], metadata: ['key'] },
    });
    expect(stored.streamId).toBe(recordedStreamId('delayed', delayed.message_id));
    const event = { ...recorded(stored), metadata: stored.event.metadata ?? {} };
    expect(recordedKeyOf('delayed', event)).toBe('letter-%00-100%25');
    expect(toAvroValue(contracts, 'delayed', event)).toEqual(delayed);
    // An event without a NUL is stored exactly as before.
    const plain = toStoredEvent('delayed', { ...delayed, message_id: 'm-1' }, metadata);
    expect(plain.event.metadata).toBe(metadata);
    expect(recordedKeyOf('delayed', recorded(plain))).toBe('m-1');
  });

  it('refuses to rebuild a value from an event type its schema has no variant for', () => {
    const stored = toStoredEvent(
      'execution',
      {
        event_id: randomUUID(),
        execution_id: id,
        task_id: 'c',
        task_type: 'letter_cleanup',
        occurred_at: T0,
        worker: null,
        event: { 'org.openpenpal.scheduler.ExecutionStarted': { attempt: 1, started_at: T0 } },
      },
      {},
    );
    const link = { ...recorded(stored), type: 'ExecutionReplayed' };
    expect(() => toAvroValue(contracts, 'execution', link)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });
});
