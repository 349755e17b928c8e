import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  createContracts,
  type FutureLetterEvent,
  type FutureLetterReleased,
  type InboundEventRejected,
  type NotificationRequested,
  type TaskTrigger,
} from '@openpenpal/contracts';
import { delayQueueService } from '@openpenpal/delay-queue/service';
import { migrateDomain } from '@openpenpal/domain';
import { createProducer, type Producer } from '@openpenpal/messaging';
import { loadConfig, startService, type RunningService } from '@openpenpal/service-kit';
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
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { futureLettersService } from '../src/service.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const contracts = createContracts();
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface LetterWorld {
  kafka: KafkaTestContext;
  pg: PgTestContext;
  env: Record<string, string>;
  /** The settings the world's delay queue runs with (on the world's topics). */
  delayQueueEnv: Record<string, string>;
  released: TopicCollector<FutureLetterReleased>;
  notifications: TopicCollector<NotificationRequested>;
  rejections: TopicCollector<InboundEventRejected>;
  producer: Producer;
  /** Starts the handler in this process (again after `stopService`). */
  startService(): Promise<RunningService<never>>;
  stopService(): Promise<void>;
  publish(letterId: string, event: FutureLetterEvent['event'], occurredAt?: number): Promise<void>;
  /** FutureLetterScheduled for many letters in one send. */
  publishMany(letters: readonly { letterId: string; scheduledAt: number }[]): Promise<void>;
  trigger(trigger: TaskTrigger): Promise<void>;
  close(): Promise<void>;
}

/** The handler with topics, groups and a domain schema of its own, and the real delay queue. */
export async function startLetterWorld(
  stack: StackEnv,
  /** `delayQueue: 'none'`: the caller runs the delay queue itself (as a process, with `delayQueueEnv`). */
  options: { service?: boolean; env?: Record<string, string>; delayQueue?: 'in-process' | 'none' } = {},
): Promise<LetterWorld> {
  const kafka = await createKafkaTestContext(stack, {});
  const pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
  const env: Record<string, string> = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    KAFKA_GROUP_ID: kafka.groupId('future-letters'),
    DATABASE_URL: stack.databaseUrl,
    HANDLER_DB_SCHEMA: pg.schema,
    DOMAIN_DB_SCHEMA: pg.schema,
    HANDLER_TRIGGER_TOPIC: uniqueName('t-fl-trigger'),
    HANDLER_EXECUTION_EVENTS_TOPIC: uniqueName('t-fl-exec'),
    HANDLER_DELAY_REQUESTS_TOPIC: uniqueName('t-fl-delay'),
    HANDLER_FUTURE_LETTER_UNLOCK_EVENTS_TOPIC: uniqueName('t-fl-events'),
    HANDLER_FUTURE_LETTER_UNLOCK_RELEASED_TOPIC: uniqueName('t-fl-released'),
    HANDLER_FUTURE_LETTER_UNLOCK_REJECTIONS_TOPIC: uniqueName('t-fl-rejected'),
    HANDLER_FUTURE_LETTER_UNLOCK_NOTIFICATIONS_TOPIC: uniqueName('t-fl-notify'),
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
    REDIS_KEY_PREFIX: uniqueName('t-fl-dq'),
    DELAY_QUEUE_REQUESTS_TOPIC: env.HANDLER_DELAY_REQUESTS_TOPIC ?? '',
    DELAY_QUEUE_EVENTS_TOPIC: uniqueName('t-fl-delay-events'),
    DELAY_QUEUE_EXTRA_TOPICS: env.HANDLER_TRIGGER_TOPIC ?? '',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
  };
  const delayQueue =
    options.delayQueue === 'none'
      ? undefined
      : await startService(delayQueueService, {
          config: loadConfig(delayQueueService.configSchema, delayQueueEnv),
          logger,
        });
  let service: RunningService<never> | undefined;
  const start = async () => {
    service = (await startService(futureLettersService, {
      config: loadConfig(futureLettersService.configSchema, env),
      logger,
    })) as unknown as RunningService<never>;
    return service;
  };
  if (options.service !== false) await start();
  else {
    // Topics the service would create: the tests that run it as a process need them first.
    const admin = kafka.kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        env.HANDLER_TRIGGER_TOPIC,
        env.HANDLER_EXECUTION_EVENTS_TOPIC,
        env.HANDLER_FUTURE_LETTER_UNLOCK_EVENTS_TOPIC,
        env.HANDLER_FUTURE_LETTER_UNLOCK_RELEASED_TOPIC,
        env.HANDLER_FUTURE_LETTER_UNLOCK_REJECTIONS_TOPIC,
        env.HANDLER_FUTURE_LETTER_UNLOCK_NOTIFICATIONS_TOPIC,
      ].flatMap((topic = '') => [
        { topic, numPartitions: 3 },
        { topic: `${topic}.dlq`, numPartitions: 3 },
      ]),
    });
    await admin.disconnect();
  }
  const producer = createProducer({ kafka: kafka.kafka, contracts, logger });
  const released = await collectTopics(kafka.kafka, [env.HANDLER_FUTURE_LETTER_UNLOCK_RELEASED_TOPIC!], (b) =>
    contracts.codec('FutureLetterReleased').decode(b),
  );
  const notifications = await collectTopics(
    kafka.kafka,
    [env.HANDLER_FUTURE_LETTER_UNLOCK_NOTIFICATIONS_TOPIC!],
    (b) => contracts.codec('NotificationRequested').decode(b),
  );
  const rejections = await collectTopics(
    kafka.kafka,
    [env.HANDLER_FUTURE_LETTER_UNLOCK_REJECTIONS_TOPIC!],
    (b) => contracts.codec('InboundEventRejected').decode(b),
  );
  return {
    kafka,
    pg,
    env,
    delayQueueEnv,
    released,
    notifications,
    rejections,
    producer,
    startService: start,
    stopService: async () => {
      await service?.close();
      service = undefined;
    },
    publish: async (letterId, event, occurredAt = Date.now()) => {
      await producer.send(
        { topic: env.HANDLER_FUTURE_LETTER_UNLOCK_EVENTS_TOPIC!, schema: 'FutureLetterEvent' },
        [{ key: letterId, value: { eventId: randomUUID(), occurredAt, event } }],
      );
    },
    publishMany: async (letters) => {
      await producer.send(
        { topic: env.HANDLER_FUTURE_LETTER_UNLOCK_EVENTS_TOPIC!, schema: 'FutureLetterEvent' },
        letters.map(({ letterId, scheduledAt }) => ({
          key: letterId,
          value: {
            eventId: randomUUID(),
            occurredAt: Date.now(),
            event: {
              'org.openpenpal.platform.FutureLetterScheduled': { letterId, scheduledAt, timezone: null },
            },
          },
        })),
      );
    },
    trigger: async (trigger) => {
      await producer.send({ topic: env.HANDLER_TRIGGER_TOPIC!, schema: 'TaskTrigger' }, [
        { key: trigger.task_id, value: trigger, messageId: trigger.execution_id },
      ]);
    },
    close: async () => {
      await Promise.all([released.close(), notifications.close(), rejections.close()]);
      await service?.close();
      await delayQueue?.close();
      await producer.close();
      await kafka.close();
      await pg.close();
    },
  };
}

export interface LetterRow {
  id: string;
  user_id: string;
  recipient_id?: string | null;
  status: string;
  visibility?: string;
  scheduled_at?: Date | null;
  created_at?: Date;
}

/** Inserts letters (the platform's rows) into the world's schema. */
export async function insertLetters(pg: PgTestContext, letters: readonly LetterRow[]): Promise<void> {
  await pg.pool.query(
    `INSERT INTO letters (id, user_id, author_id, recipient_id, status, visibility, scheduled_at, created_at)
     SELECT id, user_id, user_id, recipient_id, status, visibility, scheduled_at, created_at
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[])
       AS l(id, user_id, recipient_id, status, visibility, scheduled_at, created_at)`,
    [
      letters.map((l) => l.id),
      letters.map((l) => l.user_id),
      letters.map((l) => l.recipient_id ?? null),
      letters.map((l) => l.status),
      letters.map((l) => l.visibility ?? 'private'),
      letters.map((l) => l.scheduled_at ?? null),
      letters.map((l) => l.created_at ?? new Date()),
    ],
  );
}

export async function letterState(pg: PgTestContext, id: string) {
  const { rows } = await pg.pool.query<{ status: string; published_at: Date | null }>(
    'SELECT status, published_at FROM letters WHERE id = $1',
    [id],
  );
  return rows[0];
}

const DELAY_QUEUE_MAIN = fileURLToPath(new URL('../../delay-queue/src/main.ts', import.meta.url));

/** Runs the handler's entry point (or the delay queue's) as a process with `env`. */
export function runProcess(
  env: Record<string, string>,
  which: 'handler' | 'delay-queue' = 'handler',
): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn(process.execPath, [which === 'handler' ? MAIN : DELAY_QUEUE_MAIN], {
    env: { ...process.env, ...env, HTTP_PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // TEST_LOG_LEVEL=info shows what the process says (a failed start, a crash).
  if (process.env.TEST_LOG_LEVEL) child.stderr.pipe(process.stderr);
  return { child, exited: new Promise((resolve) => child.once('exit', resolve)) };
}
