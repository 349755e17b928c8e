import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createContracts,
  shortName,
  unionBranch,
  type DelayRequest,
  type DelayedMessageDispatched,
  type DelayedMessageEvent,
  type ScheduleDelayedMessage,
} from '@openpenpal/contracts';
import { createKafkaClient, createProducer, type Producer, type TopicBinding } from '@openpenpal/messaging';
import { startService as startRuntime, type RunningService } from '@openpenpal/service-kit';
import {
  createKafkaTestContext,
  uniqueName,
  type KafkaTestContext,
  type StackEnv,
} from '@openpenpal/test-kit';
import { Redis } from 'ioredis';
import type { Consumer, IHeaders, Kafka } from 'kafkajs';
import { pino, type Logger } from 'pino';
import { startDelayQueue, delayQueueService, type DelayQueueParts } from '../src/service.ts';
import { loadDelayQueueConfig, type DelayQueueConfig } from '../src/config.ts';
import { delayStoreKeys, shardPrefix, storePatterns } from '../src/store/index.ts';

export const contracts = createContracts();
export const testLogger: Logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface ReceivedMessage {
  topic: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  receivedAt: number;
}

/** Polls `probe` until it returns a value other than undefined (messages arriving, not a schedule). */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

function textHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name] = (Array.isArray(value) ? value.at(-1) : value)?.toString() ?? '';
  }
  return out;
}

/** Reads topics from the beginning into memory. */
export async function collect(
  kafka: Kafka,
  topics: string[],
): Promise<{
  messages: ReceivedMessage[];
  on(topic: string): ReceivedMessage[];
  close(): Promise<void>;
}> {
  const messages: ReceivedMessage[] = [];
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('g-collect'), maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    // eslint-disable-next-line @typescript-eslint/require-await -- kafkajs wants a promise
    eachBatch: async ({ batch }) => {
      const receivedAt = Date.now();
      for (const message of batch.messages) {
        messages.push({
          topic: batch.topic,
          key: message.key?.toString() ?? null,
          value: message.value,
          headers: textHeaders(message.headers),
          receivedAt,
        });
      }
    },
  });
  let closed: Promise<void> | undefined;
  return {
    messages,
    on: (topic) => messages.filter((message) => message.topic === topic),
    close: () => (closed ??= consumer.disconnect()),
  };
}

export function scheduleRequest(
  value: Partial<ScheduleDelayedMessage> & { message_id: string; due_at: number; target_topic: string },
): DelayRequest {
  return {
    request_id: randomUUID(),
    requested_at: Date.now(),
    source: 'delay-queue-test',
    event: {
      'org.openpenpal.scheduler.ScheduleDelayedMessage': {
        target_key: null,
        headers: {},
        payload: Buffer.from(`payload of ${value.message_id}`),
        ...value,
      },
    },
  };
}

export function cancelRequest(messageId: string, reason = 'no longer wanted'): DelayRequest {
  return {
    request_id: randomUUID(),
    requested_at: Date.now(),
    source: 'delay-queue-test',
    event: { 'org.openpenpal.scheduler.CancelDelayedMessage': { message_id: messageId, reason } },
  };
}

export function decodeEvents(messages: ReceivedMessage[]): DelayedMessageEvent[] {
  const codec = contracts.codec('DelayedMessageEvent');
  return messages.flatMap((message) => (message.value ? [codec.decode(message.value)] : []));
}

/** The name of an event's variant: `DelayedMessageScheduled` and so on. */
export function eventKind(event: DelayedMessageEvent): string {
  return shortName(unionBranch(event.event).name);
}

/** What a scheduled or cancelled event says happened; the variant's name for the others. */
export function eventOutcome(event: DelayedMessageEvent): string {
  const branch = unionBranch(event.event);
  switch (branch.name) {
    case 'org.openpenpal.scheduler.DelayedMessageScheduled':
      return branch.value.schedule_outcome;
    case 'org.openpenpal.scheduler.DelayedMessageCancelled':
      return branch.value.cancel_outcome;
    case 'org.openpenpal.scheduler.DelayedMessageDispatched':
    case 'org.openpenpal.scheduler.DelayedMessageRejected':
      return shortName(branch.name);
  }
}

export function dispatchedOf(event: DelayedMessageEvent | undefined): DelayedMessageDispatched | undefined {
  const branch = event && unionBranch(event.event);
  return branch?.name === 'org.openpenpal.scheduler.DelayedMessageDispatched' ? branch.value : undefined;
}

export function reasonOf(event: DelayedMessageEvent | undefined): string | undefined {
  const branch = event && unionBranch(event.event);
  if (branch?.name === 'org.openpenpal.scheduler.DelayedMessageRejected') return branch.value.reason;
  if (branch?.name === 'org.openpenpal.scheduler.DelayedMessageCancelled')
    return branch.value.reason ?? undefined;
  return undefined;
}

export interface ServiceContext {
  kafka: KafkaTestContext;
  config: DelayQueueConfig;
  /** The running service (`service.ops.app.inject` reads /readyz and /metrics). */
  service: RunningService<DelayQueueConfig>;
  queue: DelayQueueParts;
  /** Sends requests to the requests topic, keyed by message id. */
  send(requests: DelayRequest[]): Promise<void>;
  requester: Producer;
  close(): Promise<void>;
}

/** Settings of a service on this test's own topics, consumer group and Redis prefix. */
function testConfig(
  stack: StackEnv,
  kafka: KafkaTestContext,
  overrides: NodeJS.ProcessEnv = {},
): DelayQueueConfig {
  return loadDelayQueueConfig({
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    REDIS_URL: stack.redisUrl,
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    REDIS_KEY_PREFIX: uniqueName('t-dq'),
    DELAY_QUEUE_REQUESTS_TOPIC: kafka.topics.requests,
    DELAY_QUEUE_EVENTS_TOPIC: kafka.topics.events,
    KAFKA_GROUP_ID: kafka.groupId('delay-queue'),
    DELAY_QUEUE_EXTRA_TOPICS: `${kafka.topics.target},${kafka.topics.other}`,
    DELAY_QUEUE_INTAKE_CONCURRENCY: '3',
    SHUTDOWN_DEADLINE_MS: '10000',
    ...overrides,
  });
}

/** Unique topics (requests, events, two targets) and a running service on them. */
export async function startService(
  stack: StackEnv,
  overrides: NodeJS.ProcessEnv = {},
): Promise<ServiceContext> {
  const kafka = await createKafkaTestContext(stack, { requests: 3, events: 3, target: 3, other: 1 });
  const config = testConfig(stack, kafka, overrides);
  let queue: DelayQueueParts | undefined;
  const service = await startRuntime(
    { ...delayQueueService, start: async (ctx) => void (queue = await startDelayQueue(ctx)) },
    { config, logger: testLogger },
  );
  if (!queue) throw new Error('the delay queue did not start');
  const requester = createProducer({
    kafka: createKafkaClient({
      brokers: stack.kafkaBrokers,
      clientId: 'delay-queue-test',
      logger: testLogger,
    }),
    contracts,
    logger: testLogger,
  });
  await requester.connect();
  const binding: TopicBinding<'DelayRequest'> = {
    topic: config.DELAY_QUEUE_REQUESTS_TOPIC,
    schema: 'DelayRequest',
  };
  return {
    kafka,
    config,
    service,
    queue,
    requester,
    send: async (requests) => {
      await requester.send(
        binding,
        requests.map((value) => ({ key: unionMessageId(value), value })),
      );
    },
    close: async () => {
      await requester.close();
      await service.close();
      await deleteStoreKeys(stack, config.REDIS_KEY_PREFIX);
      await deleteTopics(kafka.kafka, [`${kafka.topics.requests}.dlq`, `${kafka.topics.events}.dlq`]);
      await kafka.close();
    },
  };
}

/** Another replica of a running service: same topics, consumer group and Redis prefix. */
export async function startReplica(
  ctx: ServiceContext,
  instanceId = 'replica-2',
): Promise<{ service: RunningService<DelayQueueConfig>; queue: DelayQueueParts }> {
  let queue: DelayQueueParts | undefined;
  const service = await startRuntime(
    { ...delayQueueService, start: async (runtime) => void (queue = await startDelayQueue(runtime)) },
    { config: { ...ctx.config, INSTANCE_ID: instanceId }, logger: testLogger },
  );
  if (!queue) throw new Error('the replica did not start');
  return { service, queue };
}

export function unionMessageId(request: DelayRequest): string {
  return unionBranch(request.event).value.message_id;
}

export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const doomed = topics.filter((topic) => existing.has(topic));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes every key of a sharded store's prefix: `{prefix}:*` and every shard's `{prefix:s<n>}:*`. */
/**
 * The ids pending and in flight in every shard of a store (shards 0 to `shards - 1` and the
 * unsharded keys), read with plain commands.
 */
export async function storeIds(
  redis: Redis,
  prefix: string,
  shards: number,
): Promise<{ pending: string[]; inFlight: string[] }> {
  const prefixes = [prefix, ...Array.from({ length: shards }, (_, shard) => shardPrefix(prefix, shard))];
  const all = await Promise.all(
    prefixes.map(async (one) => {
      const keys = delayStoreKeys(one, 7 * 86_400_000);
      const [pending, inFlight] = await Promise.all([
        redis.zrange(keys.pending, 0, -1),
        redis.zrange(keys.inFlight, 0, -1),
      ]);
      return { pending, inFlight };
    }),
  );
  return {
    pending: all.flatMap((one) => one.pending),
    inFlight: all.flatMap((one) => one.inFlight),
  };
}

export async function deleteStoreKeys(
  stack: StackEnv,
  prefix: string,
  redisUrl = stack.redisUrl,
): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for (const pattern of storePatterns(prefix)) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        if (keys.length > 0) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } catch {
    // A Redis that is gone (a test's own server) has no keys left to delete.
  } finally {
    redis.disconnect();
  }
}
