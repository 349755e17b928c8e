import { randomUUID } from 'node:crypto';
import type { DelayedMessageEvent } from '@openpenpal/contracts';
import { recordedStreamId, toAvroValue } from '@openpenpal/task-definitions';
import { collectTopics, waitFor, type TopicCollector } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { startRecorder, type RunningRecorder } from './in-process.ts';
import {
  checkpointOf,
  contracts,
  countEvents,
  createRecorderWorld,
  executionLife,
  lastPosition,
  sendExecutionEvents,
  withVariantFields,
  type RecorderWorld,
} from './support.ts';

const stack = inject('stack');

/** The events the delay queue writes for `messageId`: what a request did, then (if scheduled) its dispatch. */
function delayEvents(messageId: string): DelayedMessageEvent[] {
  const at = Date.parse('2026-12-01T00:00:00Z');
  const event = (value: DelayedMessageEvent['event']): DelayedMessageEvent => ({
    event_id: randomUUID(),
    message_id: messageId,
    request_id: randomUUID(),
    occurred_at: at,
    event: value,
  });
  return [
    event({
      'org.openpenpal.scheduler.DelayedMessageScheduled': {
        due_at: at + 1_000,
        target_topic: 'scheduler.trigger.future-letter-unlock',
        schedule_outcome: 'scheduled',
      },
    }),
    event({
      'org.openpenpal.scheduler.DelayedMessageDispatched': {
        due_at: at + 1_000,
        dispatched_at: at + 1_004,
        lateness_ms: 4,
        target_topic: 'scheduler.trigger.future-letter-unlock',
        redelivered: false,
      },
    }),
  ];
}

function rejected(messageId: string, reason: string): DelayedMessageEvent {
  return {
    event_id: randomUUID(),
    message_id: messageId,
    request_id: randomUUID(),
    occurred_at: Date.parse('2026-12-01T00:00:00Z'),
    event: {
      'org.openpenpal.scheduler.DelayedMessageRejected': { error_code: 'VALIDATION_FAILED', reason },
    },
  };
}

describe('message ids the delay queue accepts or reports, whatever they hold', () => {
  let world: RecorderWorld;
  let running: RunningRecorder[] = [];
  let collectors: TopicCollector<Buffer>[] = [];
  beforeEach(async () => {
    world = await createRecorderWorld(stack);
    running = [];
    collectors = [];
  });
  afterEach(async () => {
    for (const recorder of running) await recorder.close();
    for (const collector of collectors) await collector.close();
    await world.close();
  });
  const deadLetters = async (label: string) => {
    const collector = await collectTopics(world.kafka.kafka, [`${world.kafka.topics[label]!}.dlq`]);
    collectors.push(collector);
    return collector;
  };
  const sendDelayEvents = (events: readonly DelayedMessageEvent[]) =>
    // Keyed by message id, as the delay queue keys them.
    world.producer.send(
      { topic: world.kafka.topics.delays!, schema: 'DelayedMessageEvent' },
      events.map((value) => ({ key: value.message_id, value, messageId: value.event_id })),
    );

  it('records the history of an empty, a NUL-holding and an over-long message id, each in a stream of its own', async () => {
    const withNul = 'future_letter_unlock:letter-\u0000-7';
    const overLong = `ai_reply:${'x'.repeat(600)}`;
    const empty = rejected('', 'message_id must have 1 to 256 characters');
    const long = rejected(overLong, 'message_id must have 1 to 256 characters');
    const nul = delayEvents(withNul);
    // An ordinary id next to them keeps its readable stream id.
    const ordinary = delayEvents('future_letter_unlock:letter-8');
    const dlq = await deadLetters('delays');
    running.push(await startRecorder(world));
    await sendDelayEvents([empty, ...nul, long, ...ordinary]);

    await waitFor(async () => (await countEvents(world.pg.pool, world.pg.schema)).total === 6, {
      what: 'all six events',
      timeoutMs: 30_000,
    });
    expect(dlq.messages).toHaveLength(0);
    const streams = [recordedStreamId('delayed', ''), recordedStreamId('delayed', withNul)];
    streams.push(recordedStreamId('delayed', overLong));
    expect(new Set(streams).size).toBe(3);
    expect(recordedStreamId('delayed', 'future_letter_unlock:letter-8')).toBe(
      'delayed-future_letter_unlock:letter-8',
    );
    const read = async (messageId: string) => world.store.readStream(recordedStreamId('delayed', messageId));
    expect((await read('')).map((event) => event.id)).toEqual([empty.event_id]);
    expect((await read(overLong)).map((event) => event.id)).toEqual([long.event_id]);
    expect((await read('future_letter_unlock:letter-8')).map((event) => event.type)).toEqual([
      'DelayedMessageScheduled',
      'DelayedMessageDispatched',
    ]);
    const history = await read(withNul);
    expect(history.map((event) => event.id)).toEqual(nul.map((value) => value.event_id));
    // The text is stored without the NUL, and the Avro value comes back exactly as it was produced.
    expect(JSON.stringify(history.map((event) => [event.data, event.metadata]))).not.toContain('\\u0000');
    expect(history.map((event) => toAvroValue(contracts, 'delayed', event))).toEqual(nul);
    expect(toAvroValue(contracts, 'delayed', (await read(''))[0]!)).toEqual(empty);
    expect(toAvroValue(contracts, 'delayed', (await read(overLong))[0]!)).toEqual(long);
  });

  it('records and projects execution events whose text holds NUL characters', async () => {
    const life = executionLife(randomUUID(), 'cleanup', 'dead_lettered');
    const trigger = life[0]!;
    const failedWith = { error_message: 'bad byte \u0000 in row' };
    life[2] = withVariantFields(life[2]!, failedWith);
    life[3] = withVariantFields(life[3]!, failedWith);
    for (const [index, value] of life.entries()) life[index] = { ...value, worker: 'w-\u0000' };
    const dlq = await deadLetters('executions');
    running.push(await startRecorder(world));
    await sendExecutionEvents(world, life);

    await waitFor(async () => (await countEvents(world.pg.pool, world.pg.schema)).total === 4, {
      what: 'the four events',
      timeoutMs: 30_000,
    });
    await waitFor(
      async () =>
        (await checkpointOf(world, 'projection:executions')) === (await lastPosition(world, 'execution')),
      { what: 'the projection', timeoutMs: 30_000 },
    );
    expect(dlq.messages).toHaveLength(0);
    const stream = await world.store.readStream(recordedStreamId('execution', trigger.execution_id));
    expect(stream.map((event) => toAvroValue(contracts, 'execution', event))).toEqual(life);
    const row = await world.pg.pool.query<{ status: string; worker: string; error_message: string }>(
      `SELECT status, worker, error_message FROM ${world.names.executions} WHERE execution_id = $1`,
      [trigger.execution_id],
    );
    // In the read model a NUL is shown as its escape.
    expect(row.rows).toEqual([
      { status: 'dead_lettered', worker: 'w-%00', error_message: 'bad byte %00 in row' },
    ]);
  });
});
