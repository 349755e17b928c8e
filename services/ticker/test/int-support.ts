import { TASK_TYPES, createContracts, type TaskTrigger } from '@openpenpal/contracts';
import { createKafkaClient, createProducer, provisionTopics, type Producer } from '@openpenpal/messaging';
import { keySpace } from '@openpenpal/redis';
import { loadConfig, startService, type RunningService } from '@openpenpal/service-kit';
import { collectTopics, uniqueName, type StackEnv, type TopicCollector } from '@openpenpal/test-kit';
import { Redis } from 'ioredis';
import { tickerConfigSchema, type TickerConfig } from '../src/config.ts';
import { triggerTopicFor } from '../src/definitions/task-spec.ts';
import { tickerService } from '../src/service.ts';
import { logger } from './support.ts';

export const contracts = createContracts();

type Kafka = ReturnType<typeof createKafkaClient>;

/**
 * Topic names, Redis prefix and group prefix of one isolated ticker deployment. The test kit's
 * topic and Redis contexts do not fit: the ticker derives its trigger topics from one prefix, and
 * its keys sit under a hash tag (`{prefix}:…`) their clean-up pattern does not match.
 */
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
  /** The variables a ticker of this world runs with. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** A ticker of this world in this process, on the service runtime. */
  start(extra?: Record<string, string>): Promise<RunningService<TickerConfig>>;
  /** Every trigger on the topics from the beginning, decoded, for assertions after the fact. */
  collectTriggers(taskTypes: (typeof TASK_TYPES)[number][]): Promise<TopicCollector<TaskTrigger>>;
  close(): Promise<void>;
}

export async function createTickerWorld(stack: StackEnv): Promise<TickerWorld> {
  const prefix = uniqueName('tk');
  const definitionsTopic = `${prefix}.task-definitions`;
  const commandsTopic = `${prefix}.task-commands`;
  const eventsTopic = `${prefix}.execution-events`;
  const triggerPrefix = `${prefix}.trigger.`;
  const triggerTopic = (taskType: (typeof TASK_TYPES)[number]) => triggerTopicFor(triggerPrefix, taskType);
  const kafka = createKafkaClient({ brokers: stack.kafkaBrokers, clientId: prefix, logger });
  // Created here (three partitions each) so a test can write definitions before a ticker starts.
  await provisionTopics({
    kafka,
    logger,
    topics: [
      { name: definitionsTopic, partitions: 3, retentionMs: -1, cleanupPolicy: 'compact' },
      { name: commandsTopic, partitions: 1, retentionMs: 86_400_000, cleanupPolicy: 'delete' },
      { name: eventsTopic, partitions: 3, retentionMs: 86_400_000, cleanupPolicy: 'delete' },
      ...TASK_TYPES.map((t) => ({
        name: triggerTopic(t),
        partitions: 3,
        retentionMs: 86_400_000,
        cleanupPolicy: 'delete' as const,
      })),
    ],
  });
  const producer = createProducer({ kafka, contracts, logger });
  await producer.connect();
  const redis = new Redis(stack.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  const running: RunningService<TickerConfig>[] = [];
  const collectors: TopicCollector<TaskTrigger>[] = [];
  const env = (extra: Record<string, string> = {}) => ({
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    REDIS_URL: stack.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    KAFKA_GROUP_ID: prefix,
    TICKER_DEFINITIONS_TOPIC: definitionsTopic,
    TICKER_COMMANDS_TOPIC: commandsTopic,
    TICKER_EXECUTION_EVENTS_TOPIC: eventsTopic,
    TICKER_TRIGGER_TOPIC_PREFIX: triggerPrefix,
    ...extra,
  });
  return {
    prefix,
    definitionsTopic,
    commandsTopic,
    eventsTopic,
    triggerPrefix,
    triggerTopic,
    kafka,
    producer,
    redis,
    env,
    start: async (extra = {}) => {
      const config = loadConfig(tickerConfigSchema, env({ HTTP_PORT: '0', LOG_LEVEL: 'silent', ...extra }));
      const service = await startService(tickerService, { config, logger });
      running.push(service);
      return service;
    },
    collectTriggers: async (taskTypes) => {
      const codec = contracts.codec('TaskTrigger');
      const collector = await collectTopics(kafka, taskTypes.map(triggerTopic), (bytes) =>
        codec.decode(bytes),
      );
      collectors.push(collector);
      return collector;
    },
    close: async () => {
      for (const service of running.splice(0)) await service.close();
      for (const collector of collectors.splice(0)) await collector.close();
      await producer.close();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', keySpace(prefix).pattern, 'COUNT', 1000);
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

/** The role and pause state a ticker reports on /readyz. */
export async function readiness(service: RunningService<TickerConfig>) {
  const response = await service.ops.app.inject({ url: '/readyz' });
  return {
    statusCode: response.statusCode,
    body: response.json<{
      status: string;
      checks: Record<string, boolean>;
      role?: 'leader' | 'standby';
      paused?: boolean | null;
    }>(),
  };
}
