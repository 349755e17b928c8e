import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { unionBranch, type DelayRequest } from '@openpenpal/contracts';
import { createKafkaClient, createProducer, type Producer } from '@openpenpal/messaging';
import { uniqueName, type StackEnv } from '@openpenpal/test-kit';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { encodeRecord, type DelayedRecord } from '../src/record.ts';
import {
  createDelayStore,
  openShardedStore,
  storePatterns,
  type DelayStore,
  type ShardedDelayStore,
} from '../src/store/index.ts';
import { contracts, deleteKeys, pool, until, usedMemory } from './common.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface OursContext {
  kafka: Kafka;
  redis: Redis;
  /** `probe` carries only the benchmark's own acknowledgement probes (signals.ts). */
  topics: { requests: string; events: string; target: string; probe: string };
  prefix: string;
  /** The service's store, as sharded as the service runs it (one shard per requests partition). */
  store: ShardedDelayStore;
  requester: Producer;
  service: ServiceProcess;
  close(): Promise<void>;
}

interface ServiceProcess {
  child: ChildProcess;
  url: string;
  stop(): Promise<number | null>;
}

async function startService(env: NodeJS.ProcessEnv, cpuProfDir: string | undefined): Promise<ServiceProcess> {
  const args = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, MAIN] : [MAIN];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // A benchmark that dies must not leave the service running.
  const orphanGuard = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', orphanGuard);
  const url = `http://127.0.0.1:${env.HTTP_PORT ?? ''}`;
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`delay queue exited with ${child.exitCode}`);
      try {
        return (await fetch(`${url}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
    60_000,
    100,
  );
  return {
    child,
    url,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

/** Partitions of every bench topic; the requests topic's count is the service's shard count. */
const PARTITIONS = 6;

/** Deletes every key of a sharded store: the unsharded keys and every shard's. */
async function deleteStoreKeys(redis: Redis, prefix: string): Promise<void> {
  for (const pattern of storePatterns(prefix)) await deleteKeys(redis, pattern);
}

/** Unique topics, a unique Redis prefix, and the service as its own process on them. */
export async function startOurs(options: {
  stack: StackEnv;
  redis: Redis;
  logger: Logger;
  httpPort: number;
  cpuProfDir: string | undefined;
}): Promise<OursContext> {
  const { stack, logger } = options;
  const kafka = createKafkaClient({ brokers: stack.kafkaBrokers, clientId: 'bench-delay-queue', logger });
  const topics = {
    requests: uniqueName('bench-dq-requests'),
    events: uniqueName('bench-dq-events'),
    target: uniqueName('bench-dq-target'),
    probe: uniqueName('bench-dq-probe'),
  };
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: Object.values(topics).map((topic) => ({
      topic,
      numPartitions: PARTITIONS,
      replicationFactor: 1,
    })),
  });
  await admin.disconnect();
  const prefix = uniqueName('bench-dq');
  const service = await startService(
    {
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      REDIS_URL: stack.redisUrl,
      HTTP_PORT: String(options.httpPort),
      LOG_LEVEL: 'warn',
      REDIS_KEY_PREFIX: prefix,
      DELAY_QUEUE_REQUESTS_TOPIC: topics.requests,
      DELAY_QUEUE_EVENTS_TOPIC: topics.events,
      KAFKA_GROUP_ID: uniqueName('bench-dq-group'),
      DELAY_QUEUE_EXTRA_TOPICS: topics.target,
      KAFKA_SESSION_TIMEOUT_MS: '10000',
    },
    options.cpuProfDir,
  );
  const requester = createProducer({ kafka, contracts, logger });
  await requester.connect();
  const store = await openShardedStore({
    redis: options.redis,
    prefix,
    clock: { now: () => Date.now() },
    shardCount: PARTITIONS,
  });
  return {
    kafka,
    redis: options.redis,
    topics,
    prefix,
    store,
    requester,
    service,
    close: async () => {
      await requester.close();
      const code = await service.stop();
      if (code !== 0) logger.warn({ code }, 'delay queue did not exit cleanly');
      await store.close();
      await deleteStoreKeys(options.redis, prefix);
      const cleanup = kafka.admin();
      await cleanup.connect();
      const mine = Object.values(topics).flatMap((topic) => [topic, `${topic}.dlq`]);
      const existing = new Set(await cleanup.listTopics());
      await cleanup.deleteTopics({ topics: mine.filter((topic) => existing.has(topic)) });
      await cleanup.disconnect();
    },
  };
}

export function scheduleRequest(
  id: string,
  dueAt: number,
  target: string,
  payload: Buffer,
  traceparent: string,
): DelayRequest {
  return {
    request_id: randomUUID(),
    requested_at: Date.now(),
    source: 'bench',
    event: {
      'org.openpenpal.scheduler.ScheduleDelayedMessage': {
        message_id: id,
        due_at: dueAt,
        target_topic: target,
        target_key: 'ai_penpal_reply',
        headers: { traceparent: Buffer.from(traceparent) },
        payload,
      },
    },
  };
}

export async function sendRequests(ctx: OursContext, requests: DelayRequest[]): Promise<void> {
  await ctx.requester.send(
    { topic: ctx.topics.requests, schema: 'DelayRequest' },
    requests.map((value) => ({ key: unionBranch(value.event).value.message_id, value })),
  );
}

/** (a) Requests through Kafka into Redis: produce `count` (four sends in flight), time until all are pending. */
export async function oursScheduling(
  ctx: OursContext,
  count: number,
  build: (i: number) => DelayRequest,
): Promise<number> {
  const start = Date.now();
  // Four sends of 1,000 in flight, as a busy requester would (BullMQ's side has 256 adds in flight).
  let next = 0;
  const producer = async (): Promise<void> => {
    while (next < count) {
      const from = next;
      next = Math.min(count, next + 1000);
      await sendRequests(
        ctx,
        Array.from({ length: next - from }, (_, j) => build(from + j)),
      );
    }
  };
  await Promise.all(Array.from({ length: 4 }, producer));
  const done = await until(async () => (await ctx.store.stats()).pending >= count, 300_000);
  await deleteStoreKeys(ctx.redis, ctx.prefix);
  return Math.round((count * 1000) / (done - start));
}

/**
 * Writes `count` items straight into a store as the intake writes them (`applyBatch`, 1,000 a call,
 * four calls in flight).
 */
export async function fill(
  store: Pick<DelayStore, 'applyBatch'>,
  count: number,
  item: (i: number) => { id: string; dueAt: number; record: Buffer },
): Promise<void> {
  const chunks = Math.ceil(count / 1000);
  await pool(chunks, 4, async (chunk) => {
    const from = chunk * 1000;
    const results = await store.applyBatch(
      Array.from({ length: Math.min(1000, count - from) }, (_, i) => ({
        kind: 'schedule' as const,
        item: item(from + i),
      })),
    );
    const wrong = results.find((result) => result.kind !== 'schedule' || result.outcome !== 'scheduled');
    if (wrong) throw new Error(`fill: ${JSON.stringify(wrong)}`);
  });
}

/** (d) `used_memory` growth per pending item of one record shape, in a throwaway prefix. */
export async function oursMemory(redis: Redis, count: number, record: DelayedRecord): Promise<number> {
  const store = createDelayStore({
    redis,
    prefix: uniqueName('bench-dq-mem'),
    clock: { now: () => Date.now() },
  });
  const encoded = encodeRecord(record);
  const dueAt = Date.now() + 86_400_000;
  try {
    const before = await usedMemory(redis);
    await fill(store, count, (i) => ({ id: randomUUID(), dueAt: dueAt + i, record: encoded }));
    return ((await usedMemory(redis)) - before) / count;
  } finally {
    await deleteKeys(redis, store.keys.pattern);
    await store.close();
  }
}
