import { createKafkaClient, createProducer, type Producer } from '@openpenpal/messaging';
import {
  createKafkaTestContext,
  createRedisTestContext,
  type KafkaTestContext,
  type RedisTestContext,
  type StackEnv,
} from '@openpenpal/test-kit';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { createDispatcher, type Dispatcher } from '../src/dispatcher.ts';
import { createTargetGate } from '../src/targets.ts';
import { createEventPublisher, type EventPublisher } from '../src/events.ts';
import { createMetrics, type DelayQueueMetrics } from '../src/metrics.ts';
import { encodeRecord } from '../src/record.ts';
import { createDelayStore, type DelayStore } from '../src/store/index.ts';
import { contracts, testLogger } from './service-support.ts';
import { scanKeys } from './support.ts';

const clock = { now: () => Date.now() };

interface Replica {
  store: DelayStore;
  dispatcher: Dispatcher;
  metrics: DelayQueueMetrics;
  registry: Registry;
  /** The messaging producer the dispatcher publishes due messages with (replace `sendEncoded` to inject faults). */
  targetProducer: Producer;
  close(): Promise<void>;
}

export interface DispatcherContext {
  kafka: KafkaTestContext;
  redis: RedisTestContext;
  prefix: string;
  /** A store on the test's keys, as a requester-side writer would use it. */
  store: DelayStore;
  /** Schedules a message for the target topic straight into the store. */
  schedule(id: string, dueAt: number, via?: DelayStore): Promise<void>;
  /** A dispatcher with its own Redis connection and producers, like another replica. */
  replica(options?: { batchSize?: number; maxSleepMs?: number; wakeups?: boolean }): Promise<Replica>;
  close(): Promise<void>;
}

export async function createDispatcherContext(stack: StackEnv): Promise<DispatcherContext> {
  const kafka = await createKafkaTestContext(stack, { target: 3, events: 1 });
  const redis = await createRedisTestContext(stack);
  const prefix = `${redis.prefix}dq`;
  const store = createDelayStore({ redis: redis.redis, prefix, clock });
  const client = createKafkaClient({
    brokers: stack.kafkaBrokers,
    clientId: 'dispatcher-test',
    logger: testLogger,
  });
  const replicas: Replica[] = [];
  const connections: Redis[] = [];
  const connection = async (): Promise<Redis> => {
    const copy = redis.redis.duplicate({ lazyConnect: true });
    connections.push(copy);
    await copy.connect();
    return copy;
  };

  return {
    kafka,
    redis,
    prefix,
    store,
    schedule: async (id, dueAt, via = store) => {
      const record = encodeRecord({
        topic: kafka.topics.target ?? '',
        key: id,
        headers: {},
        payload: Buffer.from(`payload of ${id}`),
      });
      await via.schedule({ id, dueAt, record });
    },
    replica: async ({ batchSize = 100, maxSleepMs = 1_000, wakeups = true } = {}) => {
      const replicaStore = createDelayStore({ redis: await connection(), prefix, clock });
      const producer: Producer = createProducer({ kafka: client, contracts, logger: testLogger });
      const targetProducer = createProducer({ kafka: client, contracts, logger: testLogger });
      await targetProducer.connect();
      const events: EventPublisher = createEventPublisher({
        producers: [producer],
        binding: { topic: kafka.topics.events ?? '', schema: 'DelayedMessageEvent' },
      });
      const registry = new Registry();
      const metrics = createMetrics(registry, replicaStore);
      const admin = client.admin();
      await admin.connect();
      const dispatcher = createDispatcher({
        store: replicaStore,
        targets: createTargetGate({
          listTopics: () => admin.listTopics(),
          clock,
          logger: testLogger,
          refreshMs: 1_000,
          backoffMaxMs: 2_000,
        }),
        giveUpMs: 60_000,
        deadLetter: () => Promise.resolve(),
        producer: targetProducer,
        events,
        clock,
        metrics,
        logger: testLogger,
        batchSize,
        visibilityMs: 5_000,
        maxSleepMs,
        minClaimIntervalMs: 0,
        backoffMaxMs: 500,
      });
      if (wakeups) {
        await replicaStore.subscribeWakeups(await connection(), (earliest) => dispatcher.notify(earliest));
      }
      dispatcher.start();
      const replica: Replica = {
        store: replicaStore,
        dispatcher,
        metrics,
        registry,
        targetProducer,
        close: async () => {
          await dispatcher.close();
          await events.close();
          await producer.close();
          await targetProducer.close();
          await admin.disconnect();
          await replicaStore.close();
        },
      };
      replicas.push(replica);
      return replica;
    },
    close: async () => {
      for (const replica of replicas) await replica.close();
      for (const copy of connections) copy.disconnect();
      const keys = await scanKeys(redis.redis, store.keys.pattern);
      if (keys.length > 0) await redis.redis.unlink(...keys);
      await store.close();
      await redis.close();
      await kafka.close();
    },
  };
}

/** A counter's current value summed over its labels. */
export async function counterValue(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values.reduce((sum, value) => sum + value.value, 0);
}
