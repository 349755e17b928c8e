import { TASK_TYPES, createContracts, type TaskTrigger } from '@openpenpal/contracts';
import { createKafkaClient, createProducer, provisionTopics, type Producer } from '@openpenpal/messaging';
import { uniqueName, type StackEnv } from '@openpenpal/test-kit';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { triggerTopicFor } from '../src/task-spec.ts';
import { logger } from './support.ts';

export const contracts = createContracts();

/** Topic names, Redis prefix and group prefix of one isolated ticker deployment. */
export interface TickerWorld {
  prefix: string;
  definitionsTopic: string;
  commandsTopic: string;
  eventsTopic: string;
  triggerPrefix: string;
  triggerTopic(taskType: (typeof TASK_TYPES)[number]): string;
  kafka: Kafka;
  producer: Producer;
  redis: Redis;
  /** The variables a ticker process of this world runs with. */
  env(extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

export async function createTickerWorld(stack: StackEnv, provision = true): Promise<TickerWorld> {
  const prefix = uniqueName('tk');
  const definitionsTopic = `${prefix}.task-definitions`;
  const commandsTopic = `${prefix}.task-commands`;
  const eventsTopic = `${prefix}.execution-events`;
  const triggerPrefix = `${prefix}.trigger.`;
  const triggerTopics = TASK_TYPES.map((t) => triggerTopicFor(triggerPrefix, t));
  const kafka = createKafkaClient({ brokers: stack.kafkaBrokers, clientId: prefix, logger });
  if (provision) {
    await provisionTopics({
      kafka,
      logger,
      topics: [
        { name: definitionsTopic, partitions: 3, retentionMs: -1, cleanupPolicy: 'compact' },
        { name: commandsTopic, partitions: 1, retentionMs: 86_400_000, cleanupPolicy: 'delete' },
        { name: eventsTopic, partitions: 3, retentionMs: 86_400_000, cleanupPolicy: 'delete' },
        ...triggerTopics.map((name) => ({
          name,
          partitions: 3,
          retentionMs: 86_400_000,
          cleanupPolicy: 'delete' as const,
        })),
      ],
    });
  }
  const producer = createProducer({ kafka, contracts, logger });
  await producer.connect();
  const redis = new Redis(stack.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  return {
    prefix,
    definitionsTopic,
    commandsTopic,
    eventsTopic,
    triggerPrefix,
    triggerTopic: (taskType) => triggerTopicFor(triggerPrefix, taskType),
    kafka,
    producer,
    redis,
    env: (extra = {}) => ({
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      REDIS_URL: stack.redisUrl,
      TICKER_REDIS_PREFIX: prefix,
      TICKER_GROUP_PREFIX: prefix,
      TICKER_DEFINITIONS_TOPIC: definitionsTopic,
      TICKER_COMMANDS_TOPIC: commandsTopic,
      TICKER_EXECUTION_EVENTS_TOPIC: eventsTopic,
      TICKER_TRIGGER_TOPIC_PREFIX: triggerPrefix,
      ...extra,
    }),
    close: async () => {
      await producer.close();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
      const admin = kafka.admin();
      await admin.connect();
      try {
        const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
        if (mine.length > 0) await admin.deleteTopics({ topics: mine });
        const groups = (await admin.listGroups()).groups
          .map((g) => g.groupId)
          .filter((g) => g.startsWith(prefix));
        if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
      } finally {
        await admin.disconnect();
      }
    },
  };
}

/** Collects every trigger on the topics from the beginning, for the test's assertions. */
export async function collectTriggers(kafka: Kafka, topics: string[]) {
  const codec = contracts.codec('TaskTrigger');
  const consumer = kafka.consumer({ groupId: uniqueName('tk-reader'), maxWaitTimeInMs: 100 });
  const triggers: (TaskTrigger & { offset: string })[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      if (message.value) triggers.push({ ...codec.decode(message.value), offset: message.offset });
      return Promise.resolve();
    },
  });
  return {
    triggers,
    close: () => consumer.disconnect(),
  };
}

export async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
