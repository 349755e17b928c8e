import { topicSpec } from '@openpenpal/contracts';
import { domainConfigShape, domainSchemaName } from '@openpenpal/domain';
import {
  booleanFlag,
  nonNegativeInt,
  positiveInt,
  postgresConfigShape,
  redisConfigShape,
  runtimeConfigShape,
  serviceConfig,
  topicName,
} from '@openpenpal/service-kit';
import { z } from 'zod';

const DAY_MS = 24 * 60 * 60 * 1000;

/** `type=ms` pairs, comma-separated: the least time between two notifications of a type to one user. */
const minIntervals = z
  .string()
  .default(`ai_reply_received=${DAY_MS}`)
  .transform((value, ctx) => {
    const intervals: Record<string, number> = {};
    for (const part of value
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const match = /^([a-z_]+)=(\d+)$/.exec(part);
      if (!match?.[1] || !match[2]) {
        ctx.addIssue({ code: 'custom', message: `"${part}" is not type=milliseconds` });
        return z.NEVER;
      }
      intervals[match[1]] = Number(match[2]);
    }
    return intervals;
  });

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value));

/**
 * The notifier's settings. Topic names, the consumer group, the Redis prefix and the database
 * schemas are settings so that tests (and a second deployment on shared servers) run in isolation.
 */
export const notifierConfigSchema = serviceConfig({
  ...runtimeConfigShape({ name: 'notifier', httpPort: 8_104 }),
  ...redisConfigShape({ keyPrefix: 'openpenpal:notifier', commandTimeoutMs: 5_000 }),
  ...postgresConfigShape,
  ...domainConfigShape,
  NOTIFIER_REQUESTS_TOPIC: topicName.default(topicSpec('scheduler.notifications.requested').name),
  NOTIFIER_EVENTS_TOPIC: topicName.default(topicSpec('scheduler.notifications.events').name),
  NOTIFIER_DELAY_REQUESTS_TOPIC: topicName.default(topicSpec('scheduler.delay-requests').name),
  NOTIFIER_DB_SCHEMA: domainSchemaName.default('scheduler_notifier'),
  NOTIFIER_CONCURRENCY: positiveInt.default(6),
  NOTIFIER_BATCH_SIZE: positiveInt.max(5_000).default(500),
  NOTIFIER_DELIVERY_CONCURRENCY: positiveInt.max(1_000).default(64),
  NOTIFIER_DEFAULT_LOCALE: z.enum(['zh-CN', 'en']).default('zh-CN'),
  NOTIFIER_MIN_INTERVALS: minIntervals,
  NOTIFIER_USER_RATE_LIMIT: nonNegativeInt.default(30),
  NOTIFIER_USER_RATE_WINDOW_MS: positiveInt.default(60_000),
  NOTIFIER_RETRY_MAX_ATTEMPTS: positiveInt.max(50).default(6),
  NOTIFIER_RETRY_INITIAL_DELAY_MS: positiveInt.default(10_000),
  NOTIFIER_RETRY_MAX_DELAY_MS: positiveInt.default(900_000),
  NOTIFIER_GIVE_UP_AFTER_MS: positiveInt.default(DAY_MS),
  NOTIFIER_BREAKER_THRESHOLD: positiveInt.default(5),
  NOTIFIER_BREAKER_HALF_OPEN_AFTER_MS: positiveInt.default(30_000),
  NOTIFIER_SMTP_HOST: optionalText,
  NOTIFIER_SMTP_PORT: positiveInt.max(65_535).default(587),
  NOTIFIER_SMTP_TLS: z.enum(['starttls', 'tls', 'none']).default('starttls'),
  NOTIFIER_SMTP_TLS_REJECT_UNAUTHORIZED: booleanFlag.default(true),
  NOTIFIER_SMTP_USER: optionalText,
  NOTIFIER_SMTP_PASSWORD: optionalText,
  NOTIFIER_SMTP_FROM: z.string().default('OpenPenPal <no-reply@openpenpal.local>'),
  NOTIFIER_SMTP_TIMEOUT_MS: positiveInt.default(10_000),
  NOTIFIER_SMTP_POOL_SIZE: positiveInt.max(100).default(5),
  NOTIFIER_WEBHOOK_SECRET: optionalText,
  NOTIFIER_WEBHOOK_TIMEOUT_MS: positiveInt.default(5_000),
});

export type NotifierConfig = z.output<typeof notifierConfigSchema>;
