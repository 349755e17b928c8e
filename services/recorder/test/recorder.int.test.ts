import { randomUUID } from 'node:crypto';
import type { DelayedMessageEvent, ExecutionEvent, NotificationEvent } from '@openpenpal/contracts';
import { DLQ_HEADERS } from '@openpenpal/messaging';
import { collectTopics, uniqueName, waitFor, type TopicCollector } from '@openpenpal/test-kit';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { metricValue, startRecorder, type RunningRecorder } from './in-process.ts';
import {
  countEvents,
  createRecorderWorld,
  contracts,
  executionLife,
  sendExecutionEvents,
  type RecorderWorld,
} from './support.ts';

const stack = inject('stack');

describe('the recorder', () => {
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
  const start = async (env: Record<string, string> = {}) => {
    const recorder = await startRecorder(world, env);
    running.push(recorder);
    return recorder;
  };
  const deadLetters = async () => {
    const collector = await collectTopics(world.kafka.kafka, [`${world.kafka.topics.executions!}.dlq`]);
    collectors.push(collector);
    return collector;
  };
  const eventCount = async () => (await countEvents(world.pg.pool, world.pg.schema)).total;

  it('appends each event to its stream with the message it came from in the metadata', async () => {
    const executionId = randomUUID();
    const life = executionLife(executionId, 'cleanup', 'succeeded');
    const delayed: DelayedMessageEvent = {
      event_id: randomUUID(),
      message_id: 'future_letter_unlock:letter-1',
      request_id: randomUUID(),
      occurred_at: Date.now(),
      event: {
        'org.openpenpal.scheduler.DelayedMessageScheduled': {
          due_at: Date.now() + 60_000,
          target_topic: 'scheduler.trigger.future-letter-unlock',
          schedule_outcome: 'scheduled',
        },
      },
    };
    const notification: NotificationEvent = {
      event_id: randomUUID(),
      notification_id: randomUUID(),
      user_id: 'u-1',
      type: 'future_letter_unlocked',
      execution_id: executionId,
      occurred_at: Date.now(),
      event: {
        'org.openpenpal.scheduler.NotificationDelivered': {
          channel: 'in_app',
          delivered_at: Date.now(),
          provider_message_id: null,
        },
      },
    };
    await start();
    await sendExecutionEvents(world, life);
    await world.producer.send({ topic: world.kafka.topics.delays!, schema: 'DelayedMessageEvent' }, [
      {
        key: delayed.message_id,
        value: delayed,
        messageId: 'delay-msg-1',
        headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      },
    ]);
    await world.producer.send({ topic: world.kafka.topics.notifications!, schema: 'NotificationEvent' }, [
      { key: notification.notification_id, value: notification },
    ]);

    await waitFor(async () => (await eventCount()) === 5, { what: 'five events', timeoutMs: 30_000 });
    const execution = await world.store.readStream(`execution-${executionId}`);
    expect(execution.map((event) => event.type)).toEqual([
      'TaskTriggered',
      'ExecutionStarted',
      'ExecutionSucceeded',
    ]);
    expect(execution.map((event) => event.id)).toEqual(life.map((value) => value.event_id));
    expect(execution[1]!.data).toEqual({
      execution_id: executionId,
      task_id: 'cleanup',
      task_type: 'letter_cleanup',
      occurred_at: life[1]!.occurred_at,
      worker: 'w-1',
      attempt: 1,
      started_at: life[1]!.occurred_at,
    });
    expect(execution[1]!.metadata).toMatchObject({
      topic: world.kafka.topics.executions,
      key: executionId,
      message_id: life[1]!.event_id,
    });
    expect(typeof execution[1]!.metadata.partition).toBe('number');
    const [storedDelay] = await world.store.readStream('delayed-future_letter_unlock:letter-1');
    expect(storedDelay).toMatchObject({
      id: delayed.event_id,
      type: 'DelayedMessageScheduled',
      metadata: {
        message_id: 'delay-msg-1',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
    });
    const [storedNotification] = await world.store.readStream(`notification-${notification.notification_id}`);
    expect(storedNotification).toMatchObject({
      type: 'NotificationDelivered',
      data: { type: 'future_letter_unlocked' },
    });
  });

  it('stores a redelivered message once, in the same batch as new ones or in a later one', async () => {
    const executions = Array.from({ length: 20 }, () => randomUUID());
    const lives = executions.flatMap((id, index) => executionLife(id, `task-${index % 3}`, 'succeeded'));
    const first = await start();
    await sendExecutionEvents(world, lives.slice(0, 30));
    await waitFor(async () => (await eventCount()) === 30, { what: 'the first 30', timeoutMs: 30_000 });
    // The producer re-sends events already recorded, mixed with new ones, and one twice in a row.
    await sendExecutionEvents(world, [...lives.slice(20, 45), lives[44]!, ...lives.slice(45)]);
    await waitFor(async () => (await eventCount()) === 60, { what: 'all 60', timeoutMs: 30_000 });

    // A second group reads the topic from the start: all 71 messages again.
    await first.close();
    const second = await start({ KAFKA_GROUP_ID: uniqueName('g-again') });
    await waitFor(
      async () => (await metricValue(registry(second), 'scheduler_recorder_events_duplicate_total')) === 71,
      { what: 'the full redelivery', timeoutMs: 30_000 },
    );

    expect(await countEvents(world.pg.pool, world.pg.schema)).toEqual({ total: 60, distinct: 60 });
    expect(await metricValue(registry(second), 'scheduler_recorder_events_recorded_total')).toBe(0);
    expect(await metricValue(registry(first), 'scheduler_recorder_events_duplicate_total')).toBe(11);
    for (const id of executions) {
      const stream = await world.store.readStream(`execution-${id}`);
      expect(stream.map((event) => event.revision)).toEqual([0n, 1n, 2n]);
    }
  });

  it('holds the partition while the store is unreachable and records everything once it is back', async () => {
    const recorder = await start();
    let failures = 0;
    let down = true;
    failAppends(recorder.ctx.postgres(), () => {
      if (down) failures++;
      return down;
    });
    const lives = Array.from({ length: 10 }, () => executionLife(randomUUID(), 'cleanup', 'succeeded'));
    await sendExecutionEvents(world, lives.flat());

    await waitFor(() => failures >= 3, { what: 'retried appends', timeoutMs: 30_000 });
    expect(await countEvents(world.pg.pool, world.pg.schema)).toEqual({ total: 0, distinct: 0 });
    expect(await committedOffsets(world)).toBe(0);
    down = false;

    await waitFor(async () => (await eventCount()) === 30, { what: 'recovery', timeoutMs: 30_000 });
    await waitFor(async () => (await committedOffsets(world)) === 30, {
      what: 'the commits',
      timeoutMs: 30_000,
    });
    expect(
      await metricValue(registry(recorder), 'scheduler_consumer_retries_total', {
        code: 'DEPENDENCY_UNAVAILABLE',
        blocking: 'true',
      }),
    ).toBeGreaterThanOrEqual(3);
    expect(await metricValue(registry(recorder), 'scheduler_consumer_dead_letters_total')).toBe(0);
  });

  it('dead-letters a message it cannot decode and records the rest of the batch', async () => {
    const life = executionLife(randomUUID(), 'cleanup', 'succeeded');
    await world.producer.sendRaw(world.kafka.topics.executions!, [
      { key: life[0]!.execution_id, value: Buffer.from('not avro') },
      { key: life[0]!.execution_id, value: null },
    ]);
    await sendExecutionEvents(world, life);
    const dlq = await deadLetters();
    await start();

    await waitFor(async () => (await eventCount()) === 3, { what: 'the good events', timeoutMs: 30_000 });
    await dlq.waitForCount(2, { timeoutMs: 30_000 });
    expect(
      dlq.messages.map((m) => ({
        code: m.headers[DLQ_HEADERS.errorCode],
        group: m.headers[DLQ_HEADERS.consumerGroup],
      })),
    ).toEqual([
      { code: 'DECODE_FAILED', group: world.config.KAFKA_GROUP_ID },
      { code: 'DECODE_FAILED', group: world.config.KAFKA_GROUP_ID },
    ]);
  });

  it('dead-letters only the events the store refuses and records the rest of their slice', async () => {
    // An id the store already holds in another stream (CONFLICT), and a value PostgreSQL refuses
    // (VALIDATION_FAILED: the pool's append fails with a data exception while it carries that event),
    // each in the middle of an execution's life.
    const stolen = randomUUID();
    await world.store.append('elsewhere-1', [{ id: stolen, type: 'Unrelated', data: {} }]);
    const conflicting = executionLife(randomUUID(), 'cleanup', 'succeeded');
    conflicting[1] = { ...conflicting[1]!, event_id: stolen };
    const invalid = executionLife(randomUUID(), 'cleanup', 'succeeded');
    // One key, so that all six go to one partition and arrive in one slice.
    const sameKey = [...conflicting, ...invalid].map((value) => ({
      key: 'one-partition',
      value,
      messageId: value.event_id,
    }));
    await world.producer.send({ topic: world.kafka.topics.executions!, schema: 'ExecutionEvent' }, sameKey);
    const dlq = await deadLetters();
    const recorder = await start();
    refuseAppendsOf(recorder.ctx.postgres(), invalid[1]!.event_id);

    await dlq.waitForCount(2, { timeoutMs: 30_000 });
    await waitFor(async () => (await eventCount()) === 5, { what: 'the other four', timeoutMs: 30_000 });
    expect(dlq.messages.map((m) => [m.headers[DLQ_HEADERS.errorCode], decodeEventId(m.bytes)])).toEqual([
      ['CONFLICT', stolen],
      ['VALIDATION_FAILED', invalid[1]!.event_id],
    ]);
    const types = async (life: ExecutionEvent[]) =>
      (await world.store.readStream(`execution-${life[0]!.execution_id}`)).map((event) => event.type);
    expect(await types(conflicting)).toEqual(['TaskTriggered', 'ExecutionSucceeded']);
    expect(await types(invalid)).toEqual(['TaskTriggered', 'ExecutionSucceeded']);
    expect(await metricValue(registry(recorder), 'scheduler_consumer_dead_letters_total')).toBe(2);
    expect(
      await metricValue(registry(recorder), 'scheduler_consumer_messages_total', { outcome: 'processed' }),
    ).toBe(4);
  });

  it('shows its checks on /readyz and its series on /metrics', async () => {
    const recorder = await start();
    const ready = await recorder.ops.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: {
        started: true,
        fatal: true,
        kafka: true,
        postgres: true,
        'event-store': true,
        'consumer:ingest': true,
      },
    });
    await sendExecutionEvents(world, executionLife(randomUUID(), 'cleanup', 'succeeded'));
    await waitFor(
      async () => (await metricValue(registry(recorder), 'scheduler_recorder_events_recorded_total')) === 3,
      { what: 'the metric', timeoutMs: 30_000 },
    );
    expect(
      await metricValue(registry(recorder), 'scheduler_recorder_events_recorded_total', {
        type: 'ExecutionStarted',
      }),
    ).toBe(1);
    const text = (await recorder.ops.app.inject({ url: '/metrics' })).body;
    expect(text).toContain('scheduler_recorder_append_duration_seconds_bucket');
    expect(text).toContain('scheduler_recorder_projection_lag_positions');
    expect(text).toMatch(/scheduler_consumer_messages_total\{[^}]*outcome="processed"[^}]*\} 3/);
    expect(text).not.toMatch(/^recorder_/m);
  });

  it('fails readiness while the event store cannot be read', async () => {
    const recorder = await start();
    failReads(recorder.ctx.postgres());
    const ready = await recorder.ops.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({
      status: 'not_ready',
      checks: { 'event-store': false, postgres: true, 'consumer:ingest': true },
    });
  });
});

const registry = (recorder: RunningRecorder) => recorder.ctx.metrics.registry;

type Query = (...args: unknown[]) => Promise<unknown>;

/**
 * Replaces `query` of the recorder's own pool so that statements matching `matches` fail as a lost
 * connection does (classified DEPENDENCY_UNAVAILABLE by the store) while `fails()` says so.
 */
function failQueries(pool: pg.Pool, matches: (text: string) => boolean, fails: () => boolean): void {
  const query = pool.query.bind(pool) as Query;
  (pool as unknown as { query: Query }).query = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && matches(args[0]) && fails()) {
      return Promise.reject(new Error('Connection terminated unexpectedly'));
    }
    return query(...args);
  };
}

/**
 * Makes the pool's appends that carry `eventId` fail as PostgreSQL refusing a value does (SQLSTATE
 * 22P05, untranslatable character), which the store reports as VALIDATION_FAILED.
 */
function refuseAppendsOf(pool: pg.Pool, eventId: string): void {
  const query = pool.query.bind(pool) as Query;
  (pool as unknown as { query: Query }).query = (...args: unknown[]) => {
    if (
      typeof args[0] === 'string' &&
      args[0].includes('.append_many(') &&
      JSON.stringify(args[1]).includes(eventId)
    ) {
      return Promise.reject(
        Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' }),
      );
    }
    return query(...args);
  };
}

function failAppends(pool: pg.Pool, fails: () => boolean): void {
  failQueries(pool, (text) => text.includes('.append_many('), fails);
}

function failReads(pool: pg.Pool): void {
  failQueries(
    pool,
    (text) => /FROM "[a-z0-9_]+"\.events\b/.test(text),
    () => true,
  );
}

function decodeEventId(bytes: Buffer | null): string | undefined {
  return bytes === null ? undefined : contracts.codec('ExecutionEvent').decode(bytes).event_id;
}

/** Messages of the executions topic the recorder's group has committed past, over all partitions. */
async function committedOffsets(world: RecorderWorld): Promise<number> {
  const admin = world.kafka.kafka.admin();
  await admin.connect();
  try {
    const [topic] = await admin.fetchOffsets({
      groupId: world.config.KAFKA_GROUP_ID,
      topics: [world.kafka.topics.executions!],
    });
    return (topic?.partitions ?? []).reduce(
      (sum, partition) => sum + Math.max(0, Number(partition.offset)),
      0,
    );
  } finally {
    await admin.disconnect();
  }
}
