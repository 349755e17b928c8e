import { topicSpec } from '@openpenpal/contracts';
import {
  loadConfig,
  nonNegativeInt,
  positiveInt,
  redisConfigShape,
  runtimeConfigShape,
  serviceConfig,
  topicName,
} from '@openpenpal/service-kit';
import { z } from 'zod';
import { MAX_BATCH_REQUESTS, MAX_CLAIM_LIMIT, MAX_VISIBILITY_MS } from './store/index.ts';

/** Comma-separated topic names or prefixes (ending in `*`); empty allows nothing extra. */
const topicPatterns = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[A-Za-z0-9._-]+\*?$/, 'a topic name or a prefix ending in *')));

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The delay queue's settings. Topic names, the consumer group and the Redis prefix are settings so
 * that tests (and a second deployment on shared servers) run in isolation.
 */
export const delayQueueConfigSchema = serviceConfig({
  ...runtimeConfigShape({ name: 'delay-queue', httpPort: 8_102 }),
  ...redisConfigShape({ keyPrefix: 'openpenpal:delay-queue', commandTimeoutMs: 5_000 }),
  DELAY_QUEUE_REQUESTS_TOPIC: topicName.default(topicSpec('scheduler.delay-requests').name),
  DELAY_QUEUE_EVENTS_TOPIC: topicName.default(topicSpec('scheduler.delay-events').name),
  DELAY_QUEUE_INTAKE_CONCURRENCY: positiveInt.default(6),
  DELAY_QUEUE_INTAKE_BATCH_SIZE: positiveInt.max(MAX_BATCH_REQUESTS).default(500),
  DELAY_QUEUE_EXTRA_TOPICS: topicPatterns,
  DELAY_QUEUE_MAX_HORIZON_MS: positiveInt.default(10 * 366 * DAY_MS),
  DELAY_QUEUE_MAX_RECORD_BYTES: positiveInt.default(64 * 1024),
  DELAY_QUEUE_BATCH_SIZE: positiveInt.max(MAX_CLAIM_LIMIT).default(4_000),
  DELAY_QUEUE_VISIBILITY_MS: positiveInt.max(MAX_VISIBILITY_MS).default(30_000),
  DELAY_QUEUE_MAX_SLEEP_MS: positiveInt.default(1_000),
  DELAY_QUEUE_MIN_CLAIM_INTERVAL_MS: nonNegativeInt.default(5),
  DELAY_QUEUE_BACKOFF_MAX_MS: positiveInt.default(5_000),
  DELAY_QUEUE_TARGET_GIVE_UP_MS: positiveInt.default(600_000),
  DELAY_QUEUE_TARGET_BACKOFF_MAX_MS: positiveInt.default(60_000),
  DELAY_QUEUE_TOPIC_REFRESH_MS: positiveInt.default(10_000),
  DELAY_QUEUE_FIRED_TTL_MS: positiveInt.min(60_000).default(7 * DAY_MS),
});

export type DelayQueueConfig = z.output<typeof delayQueueConfigSchema>;

export function loadDelayQueueConfig(env: NodeJS.ProcessEnv = process.env): DelayQueueConfig {
  return loadConfig(delayQueueConfigSchema, env);
}
