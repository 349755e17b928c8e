import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DelayRequest } from '@openpenpal/contracts';
import { DLQ_HEADERS, type TopicBinding } from '@openpenpal/messaging';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, ownRedis, type OwnRedis } from './own-redis.ts';
import {
  cancelRequest,
  collect,
  decodeEvents,
  eventKind,
  eventOutcome,
  scheduleRequest,
  startService,
  waitFor,
  type ServiceContext,
} from './service-support.ts';

const stack = inject('stack');

/** Sends requests in one produce request under one key, so they land in one partition's batch. */
async function sendTogether(ctx: ServiceContext, key: string, requests: DelayRequest[]): Promise<void> {
  const binding: TopicBinding<'DelayRequest'> = {
    topic: ctx.config.DELAY_QUEUE_REQUESTS_TOPIC,
    schema: 'DelayRequest',
  };
  await ctx.requester.send(
    binding,
    requests.map((value) => ({ key, value })),
  );
}

describe('delay queue intake, a batch at a time', () => {
  let ctx: ServiceContext;
  let out: Awaited<ReturnType<typeof collect>>;
  let target: string;
  const events = () => decodeEvents(out.on(ctx.config.DELAY_QUEUE_EVENTS_TOPIC));
  const eventsFor = (id: string) => events().filter((event) => event.message_id === id);

  beforeAll(async () => {
    ctx = await startService(stack);
    target = ctx.kafka.topics.target ?? '';
    out = await collect(ctx.kafka.kafka, [
      target,
      ctx.config.DELAY_QUEUE_EVENTS_TOPIC,
      `${ctx.config.DELAY_QUEUE_REQUESTS_TOPIC}.dlq`,
    ]);
  });
  afterAll(async () => {
    await out.close();
    await ctx.close();
  });

  it('rejects and dead-letters the invalid requests of a batch one by one and takes the others', async () => {
    const dueAt = Date.now() + 500;
    await sendTogether(ctx, 'mixed', [
      scheduleRequest({ message_id: 'mixed-ok-1', due_at: dueAt, target_topic: target }),
      scheduleRequest({ message_id: 'mixed-unknown-topic', due_at: dueAt, target_topic: 'no.such.topic' }),
      scheduleRequest({ message_id: 'mixed-ok-2', due_at: dueAt, target_topic: target }),
      scheduleRequest({
        message_id: 'mixed-too-far',
        due_at: Date.now() + 20 * 366 * 86_400_000,
        target_topic: target,
      }),
      cancelRequest(''),
      scheduleRequest({ message_id: 'mixed-ok-3', due_at: dueAt, target_topic: target }),
    ]);
    const dlqTopic = `${ctx.config.DELAY_QUEUE_REQUESTS_TOPIC}.dlq`;
    const dead = await waitFor(() => (out.on(dlqTopic).length >= 3 ? out.on(dlqTopic) : undefined));
    expect(dead.map((message) => message.headers[DLQ_HEADERS.errorCode]).sort()).toEqual([
      'UNKNOWN_TOPIC',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
    ]);
    const published = await waitFor(() => (out.on(target).length >= 3 ? out.on(target) : undefined));
    expect(published.map((message) => message.headers['message-id']).sort()).toEqual([
      'mixed-ok-1',
      'mixed-ok-2',
      'mixed-ok-3',
    ]);
    for (const id of ['mixed-unknown-topic', 'mixed-too-far', '']) {
      expect(eventsFor(id).map(eventKind)).toEqual(['DelayedMessageRejected']);
    }
    expect(eventsFor('mixed-ok-2').map(eventOutcome)).toContain('scheduled');
  });

  it('ends cancelled when a schedule and a cancel of one id come in one batch, and replaced when a replace follows', async () => {
    const dueAt = Date.now() + 800;
    const replacement = scheduleRequest({
      message_id: 'pair-replaced',
      due_at: dueAt + 200,
      target_topic: target,
      payload: Buffer.from('second'),
      if_pending: 'replace',
    });
    await sendTogether(ctx, 'pairs', [
      scheduleRequest({ message_id: 'pair-cancelled', due_at: dueAt, target_topic: target }),
      scheduleRequest({ message_id: 'pair-replaced', due_at: dueAt, target_topic: target }),
      cancelRequest('pair-cancelled'),
      replacement,
    ]);
    await waitFor(() =>
      eventsFor('pair-replaced').some((e) => eventKind(e) === 'DelayedMessageDispatched') ? true : undefined,
    );
    await sleep(500);
    expect(eventsFor('pair-cancelled').map(eventOutcome)).toEqual(['scheduled', 'cancelled']);
    expect(eventsFor('pair-replaced').map(eventOutcome)).toEqual([
      'scheduled',
      'rescheduled',
      'DelayedMessageDispatched',
    ]);
    const published = out.on(target).filter((m) => m.headers['message-id']?.startsWith('pair-'));
    expect(published.map((m) => [m.headers['message-id'], m.value?.toString()])).toEqual([
      ['pair-replaced', 'second'],
    ]);
  });
});

describe('delay queue intake while Redis goes away in the middle of batches', () => {
  let redis: OwnRedis;
  let dir: string;
  let ctx: ServiceContext;
  let out: Awaited<ReturnType<typeof collect>>;
  let admin: Admin;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-redis-'));
    redis = ownRedis(await freePort(), { persistDir: dir });
    await redis.start();
    ctx = await startService(stack, {
      REDIS_URL: redis.url,
      REDIS_COMMAND_TIMEOUT_MS: '1000',
      REDIS_RECONNECT_MAX_MS: '300',
      DELAY_QUEUE_BACKOFF_MAX_MS: '500',
      DELAY_QUEUE_INTAKE_BATCH_SIZE: '100',
    });
    out = await collect(ctx.kafka.kafka, [ctx.kafka.topics.target ?? '']);
    admin = ctx.kafka.kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
    await out.close();
    await ctx.close();
    await redis.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the partitions, loses nothing and stores nothing twice', async () => {
    const target = ctx.kafka.topics.target ?? '';
    const group = ctx.config.KAFKA_GROUP_ID;
    const topic = ctx.config.DELAY_QUEUE_REQUESTS_TOPIC;
    // Due after the outage, so no publish is under way when Redis dies.
    const dueAt = Date.now() + 12_000;
    const requests = (label: string, count: number) =>
      Array.from({ length: count }, (_, i) =>
        scheduleRequest({ message_id: `${label}-${i}`, due_at: dueAt + (i % 50), target_topic: target }),
      );
    await ctx.send(requests('first', 3_000));
    await waitFor(async () => ((await ctx.queue.store.stats()).pending > 0 ? true : undefined));
    await redis.kill();
    await ctx.send(requests('during', 1_000));
    await sleep(2_000);
    const [ends, [committed]] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId: group, topics: [topic] }),
    ]);
    const uncommitted = ends.reduce((sum, end) => {
      const done = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
      return sum + Number(end.high) - Math.max(0, Number(done));
    }, 0);
    expect(uncommitted).toBeGreaterThanOrEqual(1_000);

    await redis.start();
    // The store's connection comes back on its own; until then a read fails.
    const pending = () =>
      ctx.queue.store.stats().then(
        (stats) => stats.pending,
        () => -1,
      );
    await waitFor(async () => ((await pending()) === 4_000 ? true : undefined), 30_000);
    const ids = () => out.on(target).map((message) => message.headers['message-id']);
    await waitFor(() => (ids().length >= 4_000 ? true : undefined), 40_000);
    await sleep(500);
    expect(ids()).toHaveLength(4_000);
    expect(new Set(ids()).size).toBe(4_000);
  });
});
