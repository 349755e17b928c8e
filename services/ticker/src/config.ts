import { topicSpec } from '@openpenpal/contracts';
import {
  nonNegativeInt,
  positiveInt,
  postgresUrl,
  redisConfigShape,
  runtimeConfigShape,
  serviceConfig,
  topicName,
} from '@openpenpal/service-kit';
import { z } from 'zod';

/**
 * The ticker's settings: the runtime's (`KAFKA_*`, `HTTP_*`, ...), Redis's (the lease's commands
 * time out after 1 s by default: a stuck connection must not hold a renewal), then its own.
 * Topic names, the Redis prefix and the consumer-group prefix are settings so that tests (and a
 * second deployment on shared servers) run in isolation.
 */
export const tickerConfigShape = {
  ...runtimeConfigShape({ name: 'ticker', httpPort: 8_101 }),
  ...redisConfigShape({ keyPrefix: 'openpenpal:ticker', commandTimeoutMs: 1_000 }),
  TICKER_DEFINITIONS_TOPIC: topicName.default(topicSpec('scheduler.task-definitions').name),
  TICKER_COMMANDS_TOPIC: topicName.default(topicSpec('scheduler.task-commands').name),
  TICKER_EXECUTION_EVENTS_TOPIC: topicName.default(topicSpec('scheduler.execution-events').name),
  TICKER_TRIGGER_TOPIC_PREFIX: z.string().min(1).default('scheduler.trigger.'),
  // Only with TICKER_LEASE_TOKENS=postgres: one short transaction per acquisition, no other use.
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_SIZE: positiveInt.default(2),
  TICKER_LEASE_TOKENS: z.enum(['redis', 'postgres']).default('redis'),
  TICKER_LEASE_TTL_MS: positiveInt.min(1_000).default(10_000),
  TICKER_LEASE_RENEW_MS: positiveInt.optional(),
  TICKER_LEASE_SAFETY_MARGIN_MS: positiveInt.optional(),
  TICKER_FORBID_SLACK_MS: positiveInt.default(60_000),
  TICKER_RETRY_BACKOFF_MS: positiveInt.default(500),
  TICKER_MAX_SEND_BATCH: positiveInt.default(10_000),
  TICKER_RECONCILE_LOOKBACK_MS: positiveInt.default(5_000),
  // Default 100 ms (direct) or 500 ms (transactional: the transaction is written before the instant too).
  TICKER_PREPARE_AHEAD_MS: nonNegativeInt.max(900).optional(),
  TICKER_RUN_NOW_MAX_AGE_MS: positiveInt.default(3_600_000),
  // transactional: each instant's triggers written in a Kafka transaction ahead of it and committed
  // at it (README, Configuration); direct: one produce request at the instant.
  TICKER_TRIGGER_SEND: z.enum(['transactional', 'direct']).default('direct'),
  TICKER_TRANSACTIONAL_ID: z.string().min(1).optional(),
};

/** The lease timing follows from the TTL unless set, and must leave room for a renewal to fail. */
export const tickerConfigSchema = serviceConfig(tickerConfigShape).transform((raw, ctx) => {
  if (raw.TICKER_LEASE_TOKENS === 'postgres' && !raw.DATABASE_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['DATABASE_URL'],
      message: 'required with TICKER_LEASE_TOKENS=postgres (the fencing tokens live there)',
    });
    return z.NEVER;
  }
  const ttl = raw.TICKER_LEASE_TTL_MS;
  const renewMs = raw.TICKER_LEASE_RENEW_MS ?? Math.floor(ttl / 3);
  const marginMs = raw.TICKER_LEASE_SAFETY_MARGIN_MS ?? Math.max(200, Math.floor(ttl / 5));
  // A renewal must be due (and have a chance to fail and be retried) before the leader's own
  // validity window closes, or a healthy leader would step down between renewals.
  if (renewMs + 100 > ttl - marginMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['TICKER_LEASE_RENEW_MS'],
      message: `renewal every ${renewMs} ms does not fit in ttl ${ttl} ms minus the safety margin ${marginMs} ms`,
    });
    return z.NEVER;
  }
  return {
    ...raw,
    TICKER_LEASE_RENEW_MS: renewMs,
    TICKER_LEASE_SAFETY_MARGIN_MS: marginMs,
    TICKER_PREPARE_AHEAD_MS:
      raw.TICKER_PREPARE_AHEAD_MS ?? (raw.TICKER_TRIGGER_SEND === 'transactional' ? 500 : 100),
    // One id per deployment (not per replica): a new leader's init fences the deposed one.
    TICKER_TRANSACTIONAL_ID: raw.TICKER_TRANSACTIONAL_ID ?? `${raw.KAFKA_GROUP_ID}-triggers`,
  };
});

export type TickerConfig = z.output<typeof tickerConfigSchema>;
