// Runs on the local stack's cluster profile (three brokers, a Redis Cluster): `pnpm test:cluster`
// starts it, runs this file and stops it. Without the profile's env file every test is skipped.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkaClient, createProducer, provisionTopics } from '@openpenpal/messaging';
import { closeRedis, connectRedis, isCluster } from '@openpenpal/redis';
import {
  kafkaConfigShape,
  loadConfig,
  redisConfigShape,
  startService as startRuntime,
} from '@openpenpal/service-kit';
import { uniqueName } from '@openpenpal/test-kit';
import type { Redis } from 'ioredis';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadDelayQueueConfig } from '../src/config.ts';
import { encodeRecord } from '../src/record.ts';
import { delayQueueService, startDelayQueue, type DelayQueueParts } from '../src/service.ts';
import { createDelayStore } from '../src/store/index.ts';
import {
  killServer,
  loadClusterEnv,
  redisNodeOf,
  restartStopped,
  setting,
  slotOwners,
  type ClusterEnv,
} from './cluster-support.ts';
import {
  collect,
  contracts,
  scheduleRequest,
  testLogger,
  unionMessageId,
  waitFor,
} from './service-support.ts';

const env = loadClusterEnv();

/** The settings a service reads, from the profile's env file, as a deployment would pass them. */
function serviceSettings(cluster: ClusterEnv) {
  const schema = z.object({
    ...kafkaConfigShape({ clientId: 'cluster-test', groupId: 'cluster-test' }),
    ...redisConfigShape({ keyPrefix: 'openpenpal:delay-queue' }),
  });
  return loadConfig(schema, {
    KAFKA_BROKERS: setting(cluster, 'KAFKA_BROKERS'),
    KAFKA_REPLICATION_FACTOR: setting(cluster, 'KAFKA_REPLICATION_FACTOR'),
    KAFKA_MIN_INSYNC_REPLICAS: setting(cluster, 'KAFKA_MIN_INSYNC_REPLICAS'),
    REDIS_URL: setting(cluster, 'DELAY_QUEUE_REDIS_URL'),
  });
}

describe.skipIf(!env)('the cluster profile', () => {
  const cluster = env ?? {};
  let settings: ReturnType<typeof serviceSettings>;
  const kafka = () =>
    createKafkaClient({
      brokers: settings.KAFKA_BROKERS,
      clientId: uniqueName('cluster'),
      logger: testLogger,
    });
  const provision = (names: string[], partitions = 3) =>
    provisionTopics({
      kafka: kafka(),
      logger: testLogger,
      withDeadLetters: false,
      replicationFactor: settings.KAFKA_REPLICATION_FACTOR,
      minInsyncReplicas: settings.KAFKA_MIN_INSYNC_REPLICAS,
      topics: names.map((name) => ({ name, partitions, retentionMs: 3_600_000, cleanupPolicy: 'delete' })),
    });

  beforeAll(() => {
    settings = serviceSettings(cluster);
  });
  afterAll(async () => {
    // Whatever a test killed runs again for the next test run (and `stack:status` is green).
    await restartStopped();
  }, 240_000);

  it('provisions topics with three replicas, two of them in sync for a write', async () => {
    expect(settings.KAFKA_BROKERS).toHaveLength(3);
    const topic = uniqueName('t-cluster-provision');
    await provision([topic]);
    const admin = kafka().admin();
    await admin.connect();
    try {
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      expect(metadata?.partitions).toHaveLength(3);
      for (const partition of metadata?.partitions ?? []) expect(partition.replicas).toHaveLength(3);
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas'] }],
      });
      expect(described.resources[0]?.configEntries[0]?.configValue).toBe('2');
      await admin.deleteTopics({ topics: [topic] });
    } finally {
      await admin.disconnect();
    }
  });

  it('schedules and delivers delayed messages through the service on the Redis Cluster', async () => {
    const [requests, events, target] = ['requests', 'events', 'target'].map((l) => uniqueName(`t-cl-${l}`));
    await provision([target ?? '']);
    const config = loadDelayQueueConfig({
      ...Object.fromEntries(Object.entries(cluster).filter(([name]) => !name.includes('_REDIS_URL'))),
      REDIS_URL: setting(cluster, 'DELAY_QUEUE_REDIS_URL'),
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      DELAY_QUEUE_REQUESTS_TOPIC: requests,
      DELAY_QUEUE_EVENTS_TOPIC: events,
      DELAY_QUEUE_EXTRA_TOPICS: target,
      KAFKA_GROUP_ID: uniqueName('g-cluster-dq'),
    });
    let queue: DelayQueueParts | undefined;
    const service = await startRuntime(
      { ...delayQueueService, start: async (ctx) => void (queue = await startDelayQueue(ctx)) },
      { config, logger: testLogger },
    );
    const requester = createProducer({ kafka: kafka(), contracts, logger: testLogger });
    const out = await collect(kafka(), [target ?? '']);
    try {
      const run = randomUUID();
      const due = Date.now() + 2_000;
      const batch = Array.from({ length: 200 }, (_, i) =>
        scheduleRequest({
          message_id: `${run}-${i}`,
          due_at: due + (i % 10) * 50,
          target_topic: target ?? '',
        }),
      );
      await requester.send(
        { topic: requests ?? '', schema: 'DelayRequest' },
        batch.map((value) => ({ key: unionMessageId(value), value })),
      );
      await waitFor(() => (out.on(target ?? '').length >= batch.length ? true : undefined), 60_000);
      await sleep(500);
      const ids = out.on(target ?? '').map((m) => m.headers['message-id']);
      expect(new Set(ids).size).toBe(batch.length);
      expect(ids).toHaveLength(batch.length);
      expect(Math.min(...out.on(target ?? '').map((m) => m.receivedAt))).toBeGreaterThanOrEqual(due);
      expect(await queue?.store.stats()).toMatchObject({ inFlight: 0 });
      // One shard per requests partition, each under its own hash tag: spread over the primaries.
      const store = queue?.store;
      if (!store) throw new Error('the delay queue did not start');
      const shards = Math.max(...store.layout().counts);
      const admin: Redis = await connectRedis(
        { url: setting(cluster, 'REDIS_URL'), connectionName: 'cluster-test-shards' },
        testLogger,
      );
      try {
        const primaries = await Promise.all(
          Array.from({ length: shards }, async (_, shard) => {
            const owners = await slotOwners(admin, store.shard(shard).keys.pending);
            return owners.primary;
          }),
        );
        console.info(`${shards} shards on primaries ${primaries.join(', ')}`);
        expect(shards).toBeGreaterThan(1);
        expect(new Set(primaries).size).toBeGreaterThan(1);
      } finally {
        await closeRedis(admin);
      }
    } finally {
      await out.close();
      await requester.close();
      await service.close();
    }
  });

  it('loses no acknowledged message when a broker is SIGKILLed during acks=all sends', async () => {
    const topic = uniqueName('t-cluster-kill');
    await provision([topic]);
    const client = kafka();
    const producer = createProducer({ kafka: client, contracts, logger: testLogger });
    const acked: string[] = [];
    let failedSends = 0;
    let killed = '';
    let killing: Promise<number> | undefined;
    let longestSendMs = 0;
    try {
      for (let i = 0; i < 300; i++) {
        const ids = Array.from({ length: 10 }, (_, j) => `m-${i * 10 + j}`);
        if (i === 100) {
          // The leader of partition 0: its followers must take over with every acknowledged write.
          const admin = client.admin();
          await admin.connect();
          const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
          await admin.disconnect();
          killed = `kafka-${meta?.partitions.find((p) => p.partitionId === 0)?.leader}`;
          // Not awaited: the kill lands while the next sends are in flight.
          killing = killServer(killed);
        }
        const sendStarted = Date.now();
        for (;;) {
          try {
            await producer.sendRaw(
              topic,
              ids.map((id) => ({ key: id, value: Buffer.from(id) })),
            );
            break;
          } catch {
            // acks=all not reached (the leader died mid-request): send again, as services do.
            failedSends += 1;
            if (failedSends > 200) throw new Error('sends kept failing after the broker was killed');
            await sleep(100);
          }
        }
        acked.push(...ids);
        // The sends waiting for the partitions' new leaders: the producer's view of the recovery.
        longestSendMs = Math.max(longestSendMs, Date.now() - sendStarted);
      }
      await killing;
    } finally {
      await producer.close();
    }
    expect(killed).toMatch(/^kafka-[123]$/);
    const out = await collect(kafka(), [topic]);
    try {
      const unique = () => new Set(out.messages.map((m) => m.value?.toString()));
      // A lost message shows in the assertion below, with its id, rather than as a timeout.
      await waitFor(() => (unique().size >= acked.length ? true : undefined), 60_000).catch(() => undefined);
      await sleep(500);
      const received = unique();
      expect(acked.filter((id) => !received.has(id))).toEqual([]);
      // A send that failed may still have been written before the leader died; sending it again
      // (as services do) writes it twice — at least once, never lost. Consumers dedupe by id.
      const duplicates = out.messages.length - received.size;
      expect(received.size).toBe(acked.length);
      expect(duplicates).toBeLessThanOrEqual(failedSends * 10);
      console.info(
        `${killed} SIGKILLed: ${acked.length} messages acknowledged, 0 lost, ${failedSends} sends retried (${duplicates} ` +
          `messages written twice), ` +
          `the longest send (waiting for new leaders) took ${longestSendMs} ms`,
      );
    } finally {
      await out.close();
    }
  }, 180_000);

  it('keeps the delay store working after a Redis primary is SIGKILLed and its replica promoted', async () => {
    // The default user: a store of the test's own (the delay-queue user may touch its prefix only).
    const redis: Redis = await connectRedis(
      {
        url: setting(cluster, 'REDIS_URL'),
        connectionName: 'cluster-test',
        commandTimeoutMs: 2_000,
        reconnectMaxMs: 500,
      },
      testLogger,
    );
    const admin: Redis = await connectRedis(
      { url: setting(cluster, 'REDIS_URL'), connectionName: 'cluster-test-admin' },
      testLogger,
    );
    try {
      expect(isCluster(redis)).toBe(true);
      const store = createDelayStore({ redis, prefix: uniqueName('t-cluster-dq'), clock: { now: Date.now } });
      const run = randomUUID();
      const record = encodeRecord({ topic: 't', key: 'k', headers: {}, payload: Buffer.from('x') });
      const before = Array.from({ length: 50 }, (_, i) => `${run}-a${i}`);
      for (const id of before) await store.schedule({ id, dueAt: Date.now(), record });
      // Replication is asynchronous: let the replica have every write before its primary dies.
      await sleep(1_000);
      const owners = await slotOwners(admin, store.keys.pending);
      expect(owners.replicas).toHaveLength(1);
      await killServer(redisNodeOf(cluster, owners.primary));
      const started = Date.now();
      // The replica is promoted within the node timeout (3 s) plus an election.
      const promoted = await waitFor(async () => {
        const now = await slotOwners(admin, store.keys.pending).catch(() => undefined);
        return now && now.primary !== owners.primary ? now.primary : undefined;
      }, 30_000);
      expect(promoted).toBe(owners.replicas[0]);
      const after = `${run}-b`;
      await waitFor(
        async () =>
          (await store.schedule({ id: after, dueAt: Date.now(), record }).catch(() => undefined))
            ? true
            : undefined,
        30_000,
      );
      console.info(
        `${owners.primary} SIGKILLed: ${owners.replicas[0]} promoted, the store took writes again ` +
          `${Date.now() - started} ms after the kill`,
      );
      const claimed = await store.claimDue({ limit: 100, visibilityMs: 30_000 });
      const claimedIds = new Set(claimed.map((c) => c.id));
      expect([...before, after].filter((id) => !claimedIds.has(id))).toEqual([]);
      expect(await store.ack(claimed)).toMatchObject({ acked: claimed.length, stale: [] });
      await store.close();
    } finally {
      await closeRedis(redis);
      await closeRedis(admin);
    }
  });
});
