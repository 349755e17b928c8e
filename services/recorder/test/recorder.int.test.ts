import { randomUUID } from 'node:crypto';
import type { DelayedMessageEvent, NotificationEvent } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import type { EventStore } from '@openpenpal/event-store';
import { DLQ_HEADERS, headerText } from '@openpenpal/messaging';
import { uniqueName } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { metricValue, startRecorder, type RunningRecorder } from './in-process.ts';
import {
  countEvents,
  createRecorderWorld,
  executionLife,
  sendExecutionEvents,
  waitFor,
  type RecorderWorld,
} from './support.ts';

const stack = inject('stack');

describe('the recorder', () => {
  let world: RecorderWorld;
  let running: RunningRecorder[] = [];
  beforeEach(async () => {
    world = await createRecorderWorld(stack);
    running = [];
  });
  afterEach(async () => {
    for (const recorder of running) await recorder.close();
    await world.close();
  });
  const start = async (overrides: Parameters<typeof startRecorder>[1] = {}, store?: EventStore) => {
    const recorder = await startRecorder(world, overrides, store);
    running.push(recorder);
    return recorder;
  };

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

    await waitFor(
      async () => (await countEvents(world.pg.pool, world.pg.schema)).total === 5,
      30_000,
      'five events',
    );
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
    await waitFor(
      async () => (await countEvents(world.pg.pool, world.pg.schema)).total === 30,
      30_000,
      'the first 30',
    );
    // The producer re-sends events already recorded, mixed with new ones, and one twice in a row.
    await sendExecutionEvents(world, [...lives.slice(20, 45), lives[44]!, ...lives.slice(45)]);
    await waitFor(
      async () => (await countEvents(world.pg.pool, world.pg.schema)).total === 60,
      30_000,
      'all 60',
    );

    // A second group reads the topic from the start: all 71 messages again.
    await first.close();
    const second = await start({ RECORDER_GROUP_ID: uniqueName('g-again') });
    await waitFor(
      async () => (await metricValue(second.registry, 'recorder_events_duplicate_total')) === 71,
      30_000,
      'the full redelivery',
    );

    expect(await countEvents(world.pg.pool, world.pg.schema)).toEqual({ total: 60, distinct: 60 });
    expect(await metricValue(second.registry, 'recorder_events_recorded_total')).toBe(0);
    expect(await metricValue(first.registry, 'recorder_events_duplicate_total')).toBe(11);
    for (const id of executions) {
      const stream = await world.store.readStream(`execution-${id}`);
      expect(stream.map((event) => event.revision)).toEqual([0n, 1n, 2n]);
    }
  });

  it('holds the partition while the store is unreachable and records everything once it is back', async () => {
    let failures = 0;
    let down = true;
    const store: EventStore = {
      ...world.store,
      appendMany: (requests) => {
        if (down) {
          failures++;
          return Promise.reject(
            new SchedulerError('DEPENDENCY_UNAVAILABLE', 'PostgreSQL unavailable during appendMany'),
          );
        }
        return world.store.appendMany(requests);
      },
    };
    const recorder = await start({}, store);
    const lives = Array.from({ length: 10 }, () => executionLife(randomUUID(), 'cleanup', 'succeeded'));
    await sendExecutionEvents(world, lives.flat());

    await waitFor(() => failures >= 3, 30_000, 'retried appends');
    expect(await countEvents(world.pg.pool, world.pg.schema)).toEqual({ total: 0, distinct: 0 });
    expect(await committedOffsets(world)).toBe(0);
    down = false;

    await waitFor(
      async () => (await countEvents(world.pg.pool, world.pg.schema)).total === 30,
      30_000,
      'recovery',
    );
    await waitFor(async () => (await committedOffsets(world)) === 30, 30_000, 'the commits');
    expect(
      await metricValue(recorder.registry, 'recorder_append_retries_total', {
        code: 'DEPENDENCY_UNAVAILABLE',
      }),
    ).toBeGreaterThanOrEqual(3);
    expect(await metricValue(recorder.registry, 'recorder_dead_lettered_total')).toBe(0);
  });

  it('dead-letters a message it cannot decode and records the rest of the batch', async () => {
    const life = executionLife(randomUUID(), 'cleanup', 'succeeded');
    await world.producer.sendRaw(world.kafka.topics.executions!, [
      { key: life[0]!.execution_id, value: Buffer.from('not avro') },
    ]);
    await sendExecutionEvents(world, life);
    await start();

    await waitFor(
      async () => (await countEvents(world.pg.pool, world.pg.schema)).total === 3,
      30_000,
      'the good events',
    );
    const consumer = world.kafka.kafka.consumer({ groupId: uniqueName('g-dlq') });
    const dead: { code?: string; group?: string }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: `${world.kafka.topics.executions!}.dlq`, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        dead.push({
          code: headerText(message.headers, DLQ_HEADERS.errorCode),
          group: headerText(message.headers, DLQ_HEADERS.consumerGroup),
        });
        return Promise.resolve();
      },
    });
    await waitFor(() => dead.length === 1, 30_000, 'the dead letter');
    await consumer.disconnect();
    expect(dead).toEqual([{ code: 'DECODE_FAILED', group: world.config.RECORDER_GROUP_ID }]);
  });

  it('serves /readyz and /metrics through the ops server of the service kit', async () => {
    const recorder = await start();
    const checks = recorder.recorder.readinessChecks();
    expect(await Promise.all(checks.map(async (check) => [check.name, await check.check()]))).toEqual([
      ['postgres', true],
      ['kafka', true],
    ]);
    await sendExecutionEvents(world, executionLife(randomUUID(), 'cleanup', 'succeeded'));
    await waitFor(
      async () => (await metricValue(recorder.registry, 'recorder_events_recorded_total')) === 3,
      30_000,
      'the metric',
    );
    expect(
      await metricValue(recorder.registry, 'recorder_events_recorded_total', { type: 'ExecutionStarted' }),
    ).toBe(1);
    const text = await recorder.registry.metrics();
    expect(text).toContain('recorder_append_duration_seconds_bucket');
    expect(text).toContain('recorder_projection_lag_positions');
  });
});

/** Messages of the executions topic the recorder's group has committed past, over all partitions. */
async function committedOffsets(world: RecorderWorld): Promise<number> {
  const admin = world.kafka.kafka.admin();
  await admin.connect();
  try {
    const [topic] = await admin.fetchOffsets({
      groupId: world.config.RECORDER_GROUP_ID,
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
