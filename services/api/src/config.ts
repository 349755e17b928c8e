import { createHash } from 'node:crypto';
import { topicSpec } from '@openpenpal/contracts';
import { eventStoreConfigShape, refineEventStoreConfig } from '@openpenpal/event-store';
import {
  booleanFlag,
  csv,
  positiveInt,
  postgresConfigShape,
  redisConfigShape,
  redisKeyPrefix,
  runtimeConfigShape,
  serviceConfig,
  topicName,
} from '@openpenpal/service-kit';
import { z } from 'zod';

const schemaName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case PostgreSQL identifier')
  .max(60, 'at most 60 characters');

const optionalSecret = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value));

/** `name:sha256hex` pairs: the service's name and the SHA-256 (hex) of its key; never the key itself. */
const serviceKeys = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(
      z.string().regex(/^[A-Za-z0-9_.-]{1,64}:[0-9a-f]{64}$/, 'name:sha256-hex of the key (lower-case hex)'),
    ),
  )
  .transform((pairs) =>
    pairs.map((pair) => {
      const [name = '', hash = ''] = pair.split(':');
      return { name, hash };
    }),
  );

/** The SHA-256 a key is stored as in API_SERVICE_KEYS. */
export function hashServiceKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * The admin API's settings: the runtime's (logging, listener, Kafka, shutdown), PostgreSQL (event
 * store and the recorder's read models), Redis (its own replay-protection keys; reads of the
 * ticker's and delay queue's state), then its own. Secrets come from the environment only.
 */
export const apiConfigSchema = serviceConfig({
  ...runtimeConfigShape({ name: 'api', httpPort: 8_080 }),
  ...postgresConfigShape,
  ...redisConfigShape({ keyPrefix: 'openpenpal:api', commandTimeoutMs: 2_000 }),
  ...eventStoreConfigShape,
  API_READ_MODEL_SCHEMA: schemaName.default('recorder'),
  API_TICKER_REDIS_PREFIX: redisKeyPrefix.default('openpenpal:ticker'),
  API_DELAY_QUEUE_REDIS_PREFIX: redisKeyPrefix.default('openpenpal:delay-queue'),
  API_JWT_ALGORITHM: z.enum(['HS256', 'RS256']).default('HS256'),
  API_JWT_SECRET: optionalSecret,
  API_JWT_PUBLIC_KEY: optionalSecret,
  API_JWT_ISSUER: optionalSecret,
  API_JWT_AUDIENCE: optionalSecret,
  API_SERVICE_KEYS: serviceKeys,
  API_EVENT_SIGNING_SECRET: optionalSecret,
  API_EVENT_WINDOW_MS: positiveInt.default(300_000),
  API_CORS_ORIGINS: csv.default([]),
  API_RATE_LIMIT_MAX: positiveInt.default(600),
  API_RATE_LIMIT_WINDOW_MS: positiveInt.default(60_000),
  API_BODY_LIMIT_BYTES: positiveInt.default(256 * 1024),
  API_TRUST_PROXY: booleanFlag.default(false),
  API_DOCS_ENABLED: booleanFlag.default(true),
  API_COMMANDS_TOPIC: topicName.default(topicSpec('scheduler.task-commands').name),
  API_DELAY_REQUESTS_TOPIC: topicName.default(topicSpec('scheduler.delay-requests').name),
  API_EXECUTION_EVENTS_TOPIC: topicName.default(topicSpec('scheduler.execution-events').name),
  API_DEFINITIONS_TOPIC: topicName.default(topicSpec('scheduler.task-definitions').name),
  API_TRIGGER_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'topic-name characters')
    .default('scheduler.trigger.'),
  API_FUTURE_LETTERS_TOPIC: topicName.default(topicSpec('openpenpal.letters.future-letters').name),
  API_AI_REPLY_REQUESTS_TOPIC: topicName.default(topicSpec('openpenpal.ai.reply-requests').name),
  API_COURIER_TASK_EVENTS_TOPIC: topicName.default(topicSpec('openpenpal.courier.task-events').name),
})
  .superRefine(refineEventStoreConfig)
  .superRefine((config, ctx) => {
    if (config.API_JWT_ALGORITHM === 'HS256' && !config.API_JWT_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['API_JWT_SECRET'],
        message: 'required with API_JWT_ALGORITHM=HS256',
      });
    }
    if (config.API_JWT_SECRET && Buffer.byteLength(config.API_JWT_SECRET) < 32) {
      ctx.addIssue({ code: 'custom', path: ['API_JWT_SECRET'], message: 'at least 32 bytes' });
    }
    if (config.API_JWT_ALGORITHM === 'RS256' && !config.API_JWT_PUBLIC_KEY?.includes('PUBLIC KEY')) {
      ctx.addIssue({
        code: 'custom',
        path: ['API_JWT_PUBLIC_KEY'],
        message: 'a PEM public key, required with API_JWT_ALGORITHM=RS256',
      });
    }
    if (config.API_EVENT_SIGNING_SECRET && Buffer.byteLength(config.API_EVENT_SIGNING_SECRET) < 32) {
      ctx.addIssue({ code: 'custom', path: ['API_EVENT_SIGNING_SECRET'], message: 'at least 32 bytes' });
    }
  });

export type ApiConfig = z.output<typeof apiConfigSchema>;
