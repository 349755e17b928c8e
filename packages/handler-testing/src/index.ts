import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createContracts, type Contracts, type TaskTrigger } from '@openpenpal/contracts';
import { delayQueueService } from '@openpenpal/delay-queue/service';
import { migrateDomain } from '@openpenpal/domain';
import { createProducer, type Producer } from '@openpenpal/messaging';
import {
  loadConfig,
  startService,
  type RunningService,
  type RuntimeConfig,
  type ServiceDefinition,
} from '@openpenpal/service-kit';
import {
  collectTopics,
  createKafkaTestContext,
  createPgTestContext,
  uniqueName,
  type KafkaTestContext,
  type PgTestContext,
  type StackEnv,
  type TopicCollector,
} from '@openpenpal/test-kit';
import { pino, type Logger } from 'pino';

const logger: Logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const contracts = createContracts();
const DELAY_QUEUE_MAIN = fileURLToPath(
  import.meta.resolve('@openpenpal/delay-queue/service').replace(/service\.ts$/, 'main.ts'),
);

type SchemaName = Parameters<Contracts['codec']>[0];

export interface HandlerWorldOptions<C extends RuntimeConfig> {
  /** The handler's service definition (started in this process unless `service: false`). */
  service: ServiceDefinition<C>;
  /** Names the consumer group and prefixes every topic (`t-<short>-…`), e.g. `fl`. */
  short: string;
  /**
   * The handler's own topic settings → a suffix for their unique names, e.g.
   * `{ HANDLER_FUTURE_LETTER_UNLOCK_EVENTS_TOPIC: 'events' }`. The trigger, execution-events and
   * delay-request topics are always given.
   */
  topics: Record<string, string>;
  /** Settings on top of the world's (handler settings, a fake provider's URL). */
  env?: Record<string, string>;
  /** Whether the handler runs in this process from the start (default true). */
  startService?: boolean;
  /** The real delay queue in this process (default), or none (the test runs it as a process with `delayQueueEnv`). */
  delayQueue?: 'in-process' | 'none';
  /** The key a trigger is produced with (default its task id). */
  triggerKey?: (trigger: TaskTrigger) => string;
}

/** What every handler's test world has; each handler's support adds its own collectors and rows. */
export interface HandlerWorld {
  kafka: KafkaTestContext;
  pg: PgTestContext;
  /** The handler's settings (topics, group, schemas). */
  env: Record<string, string>;
  /** The settings the world's delay queue runs with (on the world's topics). */
  delayQueueEnv: Record<string, string>;
  producer: Producer;
  /** Starts one more replica of the handler in this process (same group, same schema). */
  startService(): Promise<void>;
  /** Stops every replica started in this process. */
  stopService(): Promise<void>;
  /** Sends a trigger to the handler's trigger topic, with its execution id as `message-id`. */
  trigger(trigger: TaskTrigger): Promise<void>;
  /** Collects a topic's messages from now, decoded with one of the contracts' schemas; closed with the world. */
  collect<T>(topic: string | undefined, schema: SchemaName): Promise<TopicCollector<T>>;
  /** Collects a topic's raw messages (a dead-letter topic); closed with the world. */
  collectRaw(topic: string): Promise<TopicCollector<Buffer>>;
  /** Runs before the world's own parts close (a fake provider). */
  onClose(close: () => Promise<unknown>): void;
  close(): Promise<void>;
}

/**
 * A handler with topics, a consumer group and a domain schema of its own (migrated as the platform
 * would be), and the real delay queue on the world's delay-request topic, dispatching to its
 * trigger topic. Without `startService` the topics the handler would create exist before it runs
 * (a test that starts it as a process needs them).
 */
export async function startHandlerWorld<C extends RuntimeConfig>(
  stack: StackEnv,
  options: HandlerWorldOptions<C>,
): Promise<HandlerWorld> {
  const { short } = options;
  const kafka = await createKafkaTestContext(stack, {});
  const pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
  const own = Object.fromEntries(
    Object.entries(options.topics).map(([setting, suffix]) => [setting, uniqueName(`t-${short}-${suffix}`)]),
  );
  const env: Record<string, string> = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    KAFKA_GROUP_ID: kafka.groupId(options.service.name),
    DATABASE_URL: stack.databaseUrl,
    HANDLER_DB_SCHEMA: pg.schema,
    DOMAIN_DB_SCHEMA: pg.schema,
    HANDLER_TRIGGER_TOPIC: uniqueName(`t-${short}-trigger`),
    HANDLER_EXECUTION_EVENTS_TOPIC: uniqueName(`t-${short}-exec`),
    HANDLER_DELAY_REQUESTS_TOPIC: uniqueName(`t-${short}-delay`),
    ...own,
    HANDLER_RETRY_INITIAL_DELAY_MS: '300',
    HANDLER_RETRY_MAX_DELAY_MS: '1000',
    OUTBOX_RELAY_POLL_MS: '200',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    ...options.env,
  };
  const delayQueueEnv: Record<string, string> = {
    KAFKA_BROKERS: env.KAFKA_BROKERS ?? '',
    KAFKA_GROUP_ID: kafka.groupId('delay-queue'),
    REDIS_URL: stack.redisUrl,
    REDIS_KEY_PREFIX: uniqueName(`t-${short}-dq`),
    DELAY_QUEUE_REQUESTS_TOPIC: env.HANDLER_DELAY_REQUESTS_TOPIC ?? '',
    DELAY_QUEUE_EVENTS_TOPIC: uniqueName(`t-${short}-delay-events`),
    DELAY_QUEUE_EXTRA_TOPICS: env.HANDLER_TRIGGER_TOPIC ?? '',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
  };
  const closing: (() => Promise<unknown>)[] = [];
  const delayQueue =
    options.delayQueue === 'none'
      ? undefined
      : await startService(delayQueueService, {
          config: loadConfig(delayQueueService.configSchema, delayQueueEnv),
          logger,
        });
  const replicas: RunningService<C>[] = [];
  const start = async () => {
    replicas.push(
      await startService(options.service, { config: loadConfig(options.service.configSchema, env), logger }),
    );
  };
  if (options.startService !== false) await start();
  else {
    const admin = kafka.kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [env.HANDLER_TRIGGER_TOPIC, env.HANDLER_EXECUTION_EVENTS_TOPIC, ...Object.values(own)].flatMap(
        (topic = '') => [
          { topic, numPartitions: 3 },
          { topic: `${topic}.dlq`, numPartitions: 3 },
        ],
      ),
    });
    await admin.disconnect();
  }
  const producer = createProducer({ kafka: kafka.kafka, contracts, logger });
  const collectors: TopicCollector<unknown>[] = [];
  const keyOf = options.triggerKey ?? ((trigger: TaskTrigger) => trigger.task_id);
  const triggerTopic = env.HANDLER_TRIGGER_TOPIC ?? '';
  const stopReplicas = async () => {
    for (const replica of replicas.splice(0).reverse()) await replica.close();
  };
  return {
    kafka,
    pg,
    env,
    delayQueueEnv,
    producer,
    startService: start,
    stopService: stopReplicas,
    trigger: async (trigger) => {
      await producer.send({ topic: triggerTopic, schema: 'TaskTrigger' }, [
        { key: keyOf(trigger), value: trigger, messageId: trigger.execution_id },
      ]);
    },
    collect: async <T>(topic: string | undefined, schema: SchemaName) => {
      if (!topic) throw new Error(`no topic to collect ${schema} from`);
      const collector = await collectTopics(
        kafka.kafka,
        [topic],
        (b) => contracts.codec(schema).decode(b) as T,
      );
      collectors.push(collector);
      return collector;
    },
    collectRaw: async (topic) => {
      const collector = await collectTopics(kafka.kafka, [topic]);
      collectors.push(collector);
      return collector;
    },
    onClose: (close) => {
      closing.push(close);
    },
    close: async () => {
      await Promise.all(collectors.map((collector) => collector.close()));
      await stopReplicas();
      await delayQueue?.close();
      await producer.close();
      for (const close of closing) await close();
      await kafka.close();
      await pg.close();
    },
  };
}

/** Runs a service's entry point (`main.ts`) as a process with `env` (its ops port chosen by the OS). */
export function runServiceProcess(
  main: string,
  env: Record<string, string>,
): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, ...env, HTTP_PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // TEST_LOG_LEVEL=info shows what the process says (a failed start, a crash).
  if (process.env.TEST_LOG_LEVEL) child.stderr.pipe(process.stderr);
  return { child, exited: new Promise((resolve) => child.once('exit', resolve)) };
}

/** The delay queue's entry point, for `runServiceProcess` with a world's `delayQueueEnv`. */
export const delayQueueMain: string = DELAY_QUEUE_MAIN;
