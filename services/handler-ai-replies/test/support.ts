import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  createContracts,
  type AiReplyDelivered,
  type AiReplyRequested,
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
import { pino } from 'pino';
import { startFakeChatApi, type FakeChatApi } from '../src/fake/fake-chat-api.ts';
import { aiRepliesService } from '../src/service.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const contracts = createContracts();
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface ReplyWorld {
  kafka: KafkaTestContext;
  pg: PgTestContext;
  env: Record<string, string>;
  chat: FakeChatApi;
  delivered: TopicCollector<AiReplyDelivered>;
  notifications: TopicCollector<NotificationRequested>;
  rejections: TopicCollector<InboundEventRejected>;
  producer: Producer;
  request(request: Omit<AiReplyRequested, 'eventId'> & { eventId?: string }): Promise<string>;
  trigger(trigger: TaskTrigger): Promise<void>;
  close(): Promise<void>;
}

/** The handler with its own topics, groups and domain schema, the real delay queue and a fake chat API. */
export async function startReplyWorld(
  stack: StackEnv,
  extraEnv: Record<string, string> = {},
  options: { service?: boolean } = {},
): Promise<ReplyWorld> {
  const kafka = await createKafkaTestContext(stack, {});
  const pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
  const chat = await startFakeChatApi();
  const env: Record<string, string> = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    KAFKA_GROUP_ID: kafka.groupId('ai-replies'),
    DATABASE_URL: stack.databaseUrl,
    HANDLER_DB_SCHEMA: pg.schema,
    DOMAIN_DB_SCHEMA: pg.schema,
    HANDLER_TRIGGER_TOPIC: uniqueName('t-ai-trigger'),
    HANDLER_EXECUTION_EVENTS_TOPIC: uniqueName('t-ai-exec'),
    HANDLER_DELAY_REQUESTS_TOPIC: uniqueName('t-ai-delay'),
    HANDLER_AI_PENPAL_REPLY_REQUESTS_TOPIC: uniqueName('t-ai-requests'),
    HANDLER_AI_PENPAL_REPLY_DELIVERED_TOPIC: uniqueName('t-ai-delivered'),
    HANDLER_AI_PENPAL_REPLY_REJECTIONS_TOPIC: uniqueName('t-ai-rejected'),
    HANDLER_AI_PENPAL_REPLY_NOTIFICATIONS_TOPIC: uniqueName('t-ai-notify'),
    HANDLER_AI_PENPAL_REPLY_PROVIDER_BASE_URL: chat.baseUrl,
    HANDLER_AI_PENPAL_REPLY_PROVIDER_MODEL: 'fake-model',
    HANDLER_AI_PENPAL_REPLY_PROVIDER_API_KEY: 'test-key',
    HANDLER_AI_PENPAL_REPLY_PROVIDER_TIMEOUT_MS: '1000',
    HANDLER_AI_PENPAL_REPLY_PROVIDER_RETRY_INITIAL_DELAY_MS: '50',
    HANDLER_AI_PENPAL_REPLY_PROVIDER_RETRY_MAX_DELAY_MS: '200',
    HANDLER_RETRY_INITIAL_DELAY_MS: '300',
    HANDLER_RETRY_MAX_DELAY_MS: '1000',
    OUTBOX_RELAY_POLL_MS: '200',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    ...extraEnv,
  };
  const delayQueue = await startService(delayQueueService, {
    config: loadConfig(delayQueueService.configSchema, {
      KAFKA_BROKERS: env.KAFKA_BROKERS,
      KAFKA_GROUP_ID: kafka.groupId('delay-queue'),
      REDIS_URL: stack.redisUrl,
      REDIS_KEY_PREFIX: uniqueName('t-ai-dq'),
      DELAY_QUEUE_REQUESTS_TOPIC: env.HANDLER_DELAY_REQUESTS_TOPIC,
      DELAY_QUEUE_EVENTS_TOPIC: uniqueName('t-ai-delay-events'),
      DELAY_QUEUE_EXTRA_TOPICS: env.HANDLER_TRIGGER_TOPIC,
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
    }),
    logger,
  });
  let service: RunningService<never> | undefined;
  if (options.service !== false) {
    service = (await startService(aiRepliesService, {
      config: loadConfig(aiRepliesService.configSchema, env),
      logger,
    })) as unknown as RunningService<never>;
  } else {
    // Topics the service would create: a test that runs it as a process needs them first.
    const admin = kafka.kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        env.HANDLER_TRIGGER_TOPIC,
        env.HANDLER_EXECUTION_EVENTS_TOPIC,
        env.HANDLER_AI_PENPAL_REPLY_REQUESTS_TOPIC,
        env.HANDLER_AI_PENPAL_REPLY_DELIVERED_TOPIC,
        env.HANDLER_AI_PENPAL_REPLY_REJECTIONS_TOPIC,
        env.HANDLER_AI_PENPAL_REPLY_NOTIFICATIONS_TOPIC,
      ].flatMap((topic = '') => [
        { topic, numPartitions: 3 },
        { topic: `${topic}.dlq`, numPartitions: 3 },
      ]),
    });
    await admin.disconnect();
  }
  const producer = createProducer({ kafka: kafka.kafka, contracts, logger });
  const delivered = await collectTopics(kafka.kafka, [env.HANDLER_AI_PENPAL_REPLY_DELIVERED_TOPIC!], (b) =>
    contracts.codec('AiReplyDelivered').decode(b),
  );
  const notifications = await collectTopics(
    kafka.kafka,
    [env.HANDLER_AI_PENPAL_REPLY_NOTIFICATIONS_TOPIC!],
    (b) => contracts.codec('NotificationRequested').decode(b),
  );
  const rejections = await collectTopics(kafka.kafka, [env.HANDLER_AI_PENPAL_REPLY_REJECTIONS_TOPIC!], (b) =>
    contracts.codec('InboundEventRejected').decode(b),
  );
  return {
    kafka,
    pg,
    env,
    chat,
    delivered,
    notifications,
    rejections,
    producer,
    request: async (request) => {
      const eventId = request.eventId ?? randomUUID();
      await producer.send(
        { topic: env.HANDLER_AI_PENPAL_REPLY_REQUESTS_TOPIC!, schema: 'AiReplyRequested' },
        [{ key: request.userId, value: { ...request, eventId } }],
      );
      return eventId;
    },
    trigger: async (trigger) => {
      await producer.send({ topic: env.HANDLER_TRIGGER_TOPIC!, schema: 'TaskTrigger' }, [
        { key: trigger.business_key ?? trigger.task_id, value: trigger, messageId: trigger.execution_id },
      ]);
    },
    close: async () => {
      await Promise.all([delivered.close(), notifications.close(), rejections.close()]);
      await service?.close();
      await delayQueue.close();
      await producer.close();
      await chat.close();
      await kafka.close();
      await pg.close();
    },
  };
}

/** A user with preferences (quiet hours in their zone; null = none) and one letter of theirs. */
export async function insertUserWithLetter(
  pg: PgTestContext,
  options: { userId: string; letterId: string; quietHours?: string | null; timezone?: string },
): Promise<void> {
  await pg.pool.query(
    `INSERT INTO notification_preferences (user_id, quiet_hours, timezone) VALUES ($1, $2, $3)`,
    [options.userId, options.quietHours ?? null, options.timezone ?? 'Asia/Shanghai'],
  );
  await pg.pool.query(
    `INSERT INTO letters (id, user_id, author_id, title, content, status) VALUES ($1, $2, $2, 'Hello', 'A letter to a pen pal.', 'delivered')`,
    [options.letterId, options.userId],
  );
}

export async function replyRow(pg: PgTestContext, letterId: string) {
  const { rows } = await pg.pool.query<{
    id: string;
    status: string;
    scheduled_at: Date;
    sent_at: Date | null;
    reply_letter_id: string | null;
    provider: string | null;
    fallback: boolean;
  }>('SELECT * FROM ai_replies WHERE original_letter_id = $1', [letterId]);
  return rows;
}

export async function replyLetters(pg: PgTestContext, letterId: string) {
  const { rows } = await pg.pool.query<{
    id: string;
    user_id: string;
    author_id: string;
    type: string;
    reply_to: string;
    content: string;
    metadata: { ai_reply: { fallback: boolean; provider: string } };
  }>('SELECT * FROM letters WHERE reply_to = $1', [letterId]);
  return rows;
}

/** Runs the handler's entry point as a process with `env`. */
export function runProcess(env: Record<string, string>): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, ...env, HTTP_PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return { child, exited: new Promise((resolve) => child.once('exit', resolve)) };
}
