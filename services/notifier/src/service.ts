import { topicSpec } from '@openpenpal/contracts';
import { createDelayClient } from '@openpenpal/delay-client';
import { assertDomainMigrated, migrateDomain, openDomain, qualified } from '@openpenpal/domain';
import { batchSubscription, type TopicBinding } from '@openpenpal/messaging';
import { defineService, type ServiceContext } from '@openpenpal/service-kit';
import { systemClock, type Clock } from '@openpenpal/timing';
import type pg from 'pg';
import { createBreakers } from './channels/breaker.ts';
import type { ChannelSender } from './channels/delivery.ts';
import { createEmailSender } from './channels/email.ts';
import { createWebhookSender } from './channels/webhook.ts';
import { notifierConfigSchema, type NotifierConfig } from './config.ts';
import { createAdmissions } from './limits/admission.ts';
import { createNotifierMetrics } from './metrics.ts';
import { createIntake } from './pipeline/intake.ts';
import { createDirectory } from './preferences/directory.ts';
import { createDeliveryStore } from './store/deliveries.ts';
import { createInbox } from './store/inbox.ts';

/**
 * Whether this role may delete from the outbox, as its relay must after Kafka acknowledged a batch.
 * A role that may not would send a batch again and again; its rows are then left to the relay of a
 * service that may (every relay of a schema sends every topic's rows).
 */
async function mayRelay(pool: pg.Pool, schema: string): Promise<boolean> {
  const { rows } = await pool.query<{ allowed: boolean }>(
    // No table yet: openDomain migrates (as a role that then owns it) or refuses to start.
    `SELECT CASE WHEN to_regclass($1) IS NULL THEN true ELSE has_table_privilege($1, 'DELETE') END AS allowed`,
    [qualified(schema, 'scheduler_outbox')],
  );
  return rows[0]?.allowed === true;
}

/**
 * Builds and starts the notifier on the runtime: the domain tables checked (or migrated) and the
 * outbox relay that publishes its events, its own delivery records, Redis for the rate limits, the channel senders with their breakers, and last
 * the requests consumer, so a shutdown stops taking requests before the senders close.
 */
export async function startNotifier(
  ctx: ServiceContext<NotifierConfig>,
  clock: Clock = systemClock,
): Promise<void> {
  const { config, logger } = ctx;
  const pool = ctx.postgres();
  if (await mayRelay(pool, config.DOMAIN_DB_SCHEMA)) {
    await openDomain(ctx);
  } else {
    if (config.DOMAIN_MIGRATE_ON_START) {
      await migrateDomain({ databaseUrl: config.DATABASE_URL, schema: config.DOMAIN_DB_SCHEMA, logger });
    } else {
      await assertDomainMigrated(pool, config.DOMAIN_DB_SCHEMA);
    }
    logger.warn(
      { schema: config.DOMAIN_DB_SCHEMA },
      'this role may not DELETE from scheduler_outbox: no outbox relay here, the events wait for the relay of a handler service on this schema',
    );
  }
  const deliveries = createDeliveryStore(pool, config.NOTIFIER_DB_SCHEMA);
  await deliveries.migrate();
  const redis = await ctx.redis('limits');
  const metrics = createNotifierMetrics(ctx.metrics.registry);

  const senders: Partial<Record<'email' | 'webhook', ChannelSender>> = {};
  if (config.NOTIFIER_SMTP_HOST) {
    senders.email = createEmailSender({
      host: config.NOTIFIER_SMTP_HOST,
      port: config.NOTIFIER_SMTP_PORT,
      tls: config.NOTIFIER_SMTP_TLS,
      rejectUnauthorized: config.NOTIFIER_SMTP_TLS_REJECT_UNAUTHORIZED,
      user: config.NOTIFIER_SMTP_USER,
      password: config.NOTIFIER_SMTP_PASSWORD,
      from: config.NOTIFIER_SMTP_FROM,
      timeoutMs: config.NOTIFIER_SMTP_TIMEOUT_MS,
      poolSize: config.NOTIFIER_SMTP_POOL_SIZE,
    });
  } else {
    logger.warn('NOTIFIER_SMTP_HOST is not set: the e-mail channel is off');
  }
  if (config.NOTIFIER_WEBHOOK_SECRET) {
    senders.webhook = createWebhookSender({
      secret: config.NOTIFIER_WEBHOOK_SECRET,
      timeoutMs: config.NOTIFIER_WEBHOOK_TIMEOUT_MS,
      clock,
    });
  } else {
    logger.warn('NOTIFIER_WEBHOOK_SECRET is not set: the webhook channel is off');
  }
  for (const sender of Object.values(senders)) {
    ctx.register({ name: `${sender.channel}-sender`, close: () => sender.close() });
  }

  const requests: TopicBinding<'NotificationRequested'> = {
    topic: config.NOTIFIER_REQUESTS_TOPIC,
    schema: 'NotificationRequested',
  };
  const intake = createIntake({
    contracts: ctx.contracts,
    producer: ctx.producer,
    events: { topic: config.NOTIFIER_EVENTS_TOPIC, schema: 'NotificationEvent' },
    outbox: { pool, schema: config.DOMAIN_DB_SCHEMA },
    requests,
    delay: createDelayClient({
      producer: ctx.producer,
      topic: config.NOTIFIER_DELAY_REQUESTS_TOPIC,
      source: ctx.service,
      clock,
      contracts: ctx.contracts,
    }),
    admissions: createAdmissions({
      redis,
      prefix: config.REDIS_KEY_PREFIX,
      minIntervals: config.NOTIFIER_MIN_INTERVALS,
      userLimit: config.NOTIFIER_USER_RATE_LIMIT,
      windowMs: config.NOTIFIER_USER_RATE_WINDOW_MS,
    }),
    directory: createDirectory(pool, config.DOMAIN_DB_SCHEMA),
    deliveries,
    inbox: createInbox(pool, config.DOMAIN_DB_SCHEMA),
    senders,
    breakers: createBreakers({
      threshold: config.NOTIFIER_BREAKER_THRESHOLD,
      halfOpenAfterMs: config.NOTIFIER_BREAKER_HALF_OPEN_AFTER_MS,
      clock,
      onStateChange: (key, state) => {
        metrics.breaker(key, state);
        logger.warn({ breaker: key, state }, 'circuit breaker changed state');
      },
    }),
    clock,
    retry: {
      initialDelayMs: config.NOTIFIER_RETRY_INITIAL_DELAY_MS,
      maxDelayMs: config.NOTIFIER_RETRY_MAX_DELAY_MS,
      maxAttempts: config.NOTIFIER_RETRY_MAX_ATTEMPTS,
      giveUpAfterMs: config.NOTIFIER_GIVE_UP_AFTER_MS,
    },
    metrics,
    logger: logger.child({ component: 'intake' }),
    available: { email: Boolean(senders.email), webhook: Boolean(senders.webhook) },
    defaultLocale: config.NOTIFIER_DEFAULT_LOCALE,
    deliveryConcurrency: config.NOTIFIER_DELIVERY_CONCURRENCY,
    groupId: config.KAFKA_GROUP_ID,
  });
  const consumer = ctx.consumer({
    name: 'requests',
    groupId: config.KAFKA_GROUP_ID,
    partitionsConsumedConcurrently: config.NOTIFIER_CONCURRENCY,
    retry: { maxDelayMs: 5_000 },
    subscriptions: [batchSubscription(requests, intake, { maxBatchSize: config.NOTIFIER_BATCH_SIZE })],
  });
  await consumer.start();
}

export const notifierService = defineService({
  name: 'notifier',
  configSchema: notifierConfigSchema,
  topics: (config) => [
    { spec: topicSpec('scheduler.notifications.requested'), name: config.NOTIFIER_REQUESTS_TOPIC },
    { spec: topicSpec('scheduler.notifications.events'), name: config.NOTIFIER_EVENTS_TOPIC },
    { spec: topicSpec('scheduler.delay-requests'), name: config.NOTIFIER_DELAY_REQUESTS_TOPIC },
  ],
  start: async (ctx) => {
    await startNotifier(ctx);
  },
});
