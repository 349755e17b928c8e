import { randomUUID } from 'node:crypto';
import {
  createContracts,
  unionBranch,
  type NotificationEvent,
  type NotificationRequested,
} from '@openpenpal/contracts';
import { startDelayQueue } from '@openpenpal/delay-queue/service';
import { delayQueueService } from '@openpenpal/delay-queue/service';
import { migrateDomain } from '@openpenpal/domain';
import type { Producer } from '@openpenpal/messaging';
import type { RedisClient } from '@openpenpal/redis';
import { defineService, loadConfig, startService, type RunningService } from '@openpenpal/service-kit';
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
import type { Clock } from '@openpenpal/timing';
import { systemClock } from '@openpenpal/timing';
import { pino } from 'pino';
import type { NotifierConfig } from '../src/config.ts';
import { notifierService, startNotifier } from '../src/service.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const contracts = createContracts();
export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789';

export interface NotifierWorld {
  kafka: KafkaTestContext;
  pg: PgTestContext;
  env: Record<string, string>;
  /** The notifier running now (`restart` replaces it). */
  service: RunningService<NotifierConfig>;
  /** Closes the notifier and starts a new one on the same topics, group and schema (not refusing the events topic). */
  restart(): Promise<void>;
  events: TopicCollector<NotificationEvent>;
  dlq: TopicCollector<Buffer>;
  send(request: NotificationRequested, headers?: Record<string, string>): Promise<void>;
  /** The short names (`Delivered:in_app`, `Failed:email`…) of a notification's events, in order. */
  eventsOf(
    notificationId: string,
  ): { name: string; value: NotificationEvent; detail: Record<string, unknown> }[];
  addUser(user: UserSetup): Promise<string>;
  close(): Promise<void>;
}

interface UserSetup {
  email?: string | null;
  isActive?: boolean;
  preferences?: {
    email_enabled?: boolean;
    quiet_hours?: string | null;
    timezone?: string;
    language?: string;
    webhook_enabled?: boolean;
    webhook_url?: string | null;
    inspiration_channels?: string[];
  } | null;
}

export function request(
  overrides: Partial<NotificationRequested> & { user_id: string },
): NotificationRequested {
  const id = randomUUID();
  return {
    notification_id: id,
    type: 'future_letter_unlocked',
    channels: [],
    priority: 'normal',
    data: {},
    locale: null,
    execution_id: null,
    dedupe_key: `test:${id}`,
    requested_at: Date.now(),
    not_before: null,
    ...overrides,
  };
}

/** The notifier (and the real delay queue) on topics, group, Redis prefix and schema of their own. */
/**
 * Makes every send of `producer` to `topic` fail (the Kafka client under it stays real): a service
 * whose events cannot reach Kafka, however it sends them.
 */
function refuseTopic(producer: Producer, topic: string): void {
  const refused = () => Promise.reject(new Error(`test: ${topic} refused`));
  const send = producer.send.bind(producer);
  const sendMany = producer.sendMany.bind(producer);
  const sendEncoded = producer.sendEncoded.bind(producer);
  const sendRaw = producer.sendRaw.bind(producer);
  producer.send = (binding, messages) => (binding.topic === topic ? refused() : send(binding, messages));
  producer.sendMany = (groups) =>
    groups.some((g) => g.binding.topic === topic) ? refused() : sendMany(groups);
  producer.sendEncoded = (batches) =>
    batches.some((b) => b.topic === topic) ? refused() : sendEncoded(batches);
  producer.sendRaw = (target, messages) => (target === topic ? refused() : sendRaw(target, messages));
}

export async function startNotifierWorld(
  stack: StackEnv,
  options: {
    env?: Record<string, string>;
    clock?: Clock;
    /** The first notifier's producers (its own and its outbox relay's) refuse the events topic. */
    refuseEvents?: boolean;
    /** …and the requests topic's dead-letter topic. */
    refuseDeadLetters?: boolean;
    /** Sees every Redis client the notifier opens (by role), e.g. to watch its calls. */
    onRedis?: (role: string, redis: RedisClient) => void;
  } = {},
): Promise<NotifierWorld> {
  const kafka = await createKafkaTestContext(stack, {});
  const pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
  const clock = options.clock ?? systemClock;
  const env: Record<string, string> = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    KAFKA_GROUP_ID: kafka.groupId('notifier'),
    DATABASE_URL: stack.databaseUrl,
    REDIS_URL: stack.redisUrl,
    REDIS_KEY_PREFIX: uniqueName('t-notifier'),
    DOMAIN_DB_SCHEMA: pg.schema,
    NOTIFIER_DB_SCHEMA: pg.schema,
    NOTIFIER_REQUESTS_TOPIC: uniqueName('t-notif-req'),
    NOTIFIER_EVENTS_TOPIC: uniqueName('t-notif-events'),
    NOTIFIER_DELAY_REQUESTS_TOPIC: uniqueName('t-notif-delay'),
    NOTIFIER_WEBHOOK_SECRET: WEBHOOK_SECRET,
    NOTIFIER_RETRY_INITIAL_DELAY_MS: '200',
    NOTIFIER_RETRY_MAX_DELAY_MS: '1000',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    ...options.env,
  };
  const delayQueue = await startService(
    {
      ...delayQueueService,
      start: async (ctx) => {
        await startDelayQueue(ctx, clock);
      },
    },
    {
      config: loadConfig(delayQueueService.configSchema, {
        KAFKA_BROKERS: env.KAFKA_BROKERS,
        KAFKA_GROUP_ID: kafka.groupId('delay-queue'),
        REDIS_URL: stack.redisUrl,
        REDIS_KEY_PREFIX: uniqueName('t-notif-dq'),
        DELAY_QUEUE_REQUESTS_TOPIC: env.NOTIFIER_DELAY_REQUESTS_TOPIC,
        DELAY_QUEUE_EVENTS_TOPIC: uniqueName('t-notif-dq-events'),
        DELAY_QUEUE_EXTRA_TOPICS: env.NOTIFIER_REQUESTS_TOPIC,
        HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
      }),
      logger,
    },
  );
  const startOne = (refused: readonly string[]) =>
    startService(
      defineService({
        ...notifierService,
        start: (ctx) => {
          const { onRedis } = options;
          if (onRedis) {
            const openRedis = ctx.redis.bind(ctx);
            ctx.redis = async (role, redisOptions) => {
              const redis = await openRedis(role, redisOptions);
              onRedis(role, redis);
              return redis;
            };
          }
          if (refused.length > 0) {
            for (const topic of refused) refuseTopic(ctx.producer, topic);
            const createProducer = ctx.createProducer.bind(ctx);
            ctx.createProducer = async (name) => {
              const producer = await createProducer(name);
              for (const topic of refused) refuseTopic(producer, topic);
              return producer;
            };
          }
          return startNotifier(ctx, clock);
        },
      }),
      { config: loadConfig(notifierService.configSchema, env), logger },
    );
  let service = await startOne([
    ...(options.refuseEvents ? [env.NOTIFIER_EVENTS_TOPIC ?? ''] : []),
    ...(options.refuseDeadLetters ? [`${env.NOTIFIER_REQUESTS_TOPIC}.dlq`] : []),
  ]);
  const codec = contracts.codec('NotificationEvent');
  const events = await collectTopics(kafka.kafka, [env.NOTIFIER_EVENTS_TOPIC!], (b) => codec.decode(b));
  const dlq = await collectTopics(kafka.kafka, [`${env.NOTIFIER_REQUESTS_TOPIC}.dlq`]);
  const requests = { topic: env.NOTIFIER_REQUESTS_TOPIC!, schema: 'NotificationRequested' as const };
  const world: NotifierWorld = {
    kafka,
    pg,
    env,
    get service() {
      return service;
    },
    restart: async () => {
      await service.close();
      service = await startOne([]);
    },
    events,
    dlq,
    send: async (value, headers) => {
      await service.ctx.producer.send(requests, [
        { key: value.notification_id, value, ...(headers ? { headers } : {}) },
      ]);
    },
    eventsOf: (notificationId) =>
      events.messages
        .filter((m) => m.value?.notification_id === notificationId)
        .map((m) => {
          const value = m.value as NotificationEvent;
          const branch = unionBranch(value.event);
          const detail = branch.value as unknown as Record<string, unknown>;
          const short = branch.name.replace('org.openpenpal.scheduler.Notification', '');
          const channel = typeof detail.channel === 'string' ? `:${detail.channel}` : '';
          return { name: `${short}${channel}`, value, detail };
        }),
    addUser: async (user) => {
      const id = uniqueName('user');
      await pg.pool.query(
        `INSERT INTO "${pg.schema}".users (id, username, email, is_active) VALUES ($1, $1, $2, $3)`,
        [id, user.email === undefined ? `${id}@example.test` : user.email, user.isActive ?? true],
      );
      if (user.preferences !== null) {
        const p = user.preferences ?? {};
        await pg.pool.query(
          `INSERT INTO "${pg.schema}".notification_preferences
             (user_id, email_enabled, quiet_hours, timezone, language, webhook_enabled, webhook_url, inspiration_channels)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            id,
            p.email_enabled ?? false,
            p.quiet_hours === undefined ? null : p.quiet_hours,
            p.timezone ?? 'Asia/Shanghai',
            p.language ?? 'zh-CN',
            p.webhook_enabled ?? false,
            p.webhook_url ?? null,
            p.inspiration_channels ?? ['in_app'],
          ],
        );
      }
      return id;
    },
    close: async () => {
      await events.close();
      await dlq.close();
      await service.close();
      await delayQueue.close();
      const admin = kafka.kafka.admin();
      await admin.connect();
      const topics = [
        env.NOTIFIER_REQUESTS_TOPIC!,
        env.NOTIFIER_EVENTS_TOPIC!,
        env.NOTIFIER_DELAY_REQUESTS_TOPIC!,
      ];
      await admin.deleteTopics({ topics: topics.flatMap((t) => [t, `${t}.dlq`]) }).catch(() => undefined);
      await admin.disconnect();
      await kafka.close();
      await pg.close();
    },
  };
  return world;
}
