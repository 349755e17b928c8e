import { SchedulerError } from '@openpenpal/errors';
import { z } from 'zod';

/**
 * Parses a service's settings from the environment with its zod schema. Every problem is
 * reported at once, each with the variable's name, so a misconfigured deployment fails at start
 * with one clear message instead of at the first use of a setting.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => ({
    variable: issue.path.join('.') || '(environment)',
    problem: issue.message,
  }));
  throw new SchedulerError(
    'CONFIG_INVALID',
    `invalid configuration: ${problems.map((p) => `${p.variable}: ${p.problem}`).join('; ')}`,
    { details: { problems } },
  );
}

/** Comma-separated list, trimmed, empty entries dropped. */
export const csv = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .refine((list) => list.length > 0, 'must name at least one entry');

/** A positive integer given as text, e.g. a port or a millisecond duration. */
export const positiveInt = z.coerce.number().int().positive();

export const nonNegativeInt = z.coerce.number().int().nonnegative();

/** `true`/`false`/`1`/`0`/`yes`/`no`, case-insensitive. */
export const booleanFlag = z.string().transform((value, ctx) => {
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  ctx.addIssue({ code: 'custom', message: 'must be true or false' });
  return z.NEVER;
});

/** A Kafka topic name (letters, digits, `.`, `_`, `-`). */
export const topicName = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9._-]+$/, 'a Kafka topic name (letters, digits, . _ -)');

/** A TCP port for an HTTP listener (0 picks a free one). */
export const httpPort = z.coerce.number().int().min(0).max(65_535);

export const redisUrl = z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL');

export const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL');

/** A Redis key prefix the owner wraps in a hash tag itself, so it must not contain braces. */
export const redisKeyPrefix = z
  .string()
  .min(1)
  .regex(/^[^{}]+$/, 'no braces: the prefix is wrapped in a hash tag by the service');

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Settings shared by every service; each service extends this object. */
export const baseConfigShape = {
  LOG_LEVEL: logLevel.default('info'),
  HTTP_HOST: z.string().default('127.0.0.1'),
  SHUTDOWN_DEADLINE_MS: positiveInt.default(30_000),
  /** Names this process in logs, metrics and lease ownership; defaults to the host name and pid. */
  INSTANCE_ID: z.string().min(1).optional(),
};

const optionalText = z.string().min(1).optional();

/**
 * Kafka settings every service reads, with the service's own defaults for the client and group
 * names. `KAFKA_GROUP_ID` is the service's consumer group, or the prefix of its groups when it
 * has several (`<id>-commands`).
 */
export function kafkaConfigShape(defaults: { clientId: string; groupId: string }) {
  return {
    KAFKA_BROKERS: csv,
    KAFKA_CLIENT_ID: z.string().min(1).default(defaults.clientId),
    KAFKA_GROUP_ID: z.string().min(1).default(defaults.groupId),
    /**
     * Creates the topics this service owns at start (and their dead-letter topics), and any topic
     * it uses under a name of this deployment's own; other topics it waits for.
     */
    KAFKA_PROVISION_TOPICS: booleanFlag.default(true),
    /** How long a service waits at start for topics another service creates. */
    KAFKA_TOPIC_WAIT_MS: positiveInt.default(60_000),
    /** Copies of each partition of topics this service creates: 1 on one broker, 3 in production. */
    KAFKA_REPLICATION_FACTOR: positiveInt.default(1),
    /** Replicas that must have a write before it is acknowledged: 1 locally, 2 in production. */
    KAFKA_MIN_INSYNC_REPLICAS: positiveInt.default(1),
    /**
     * How long the group waits for a silent member before giving its partitions to others. Short,
     * so that a killed process's partitions move (or come back to its restart) within seconds;
     * members heartbeat while handlers run and while a partition is held through an outage, so
     * neither triggers a rebalance. The broker's group.min.session.timeout.ms is 6 s by default.
     */
    KAFKA_SESSION_TIMEOUT_MS: positiveInt.min(6_000).default(6_000),
    KAFKA_SASL_MECHANISM: z.enum(['scram-sha-256', 'scram-sha-512', 'plain']).optional(),
    KAFKA_SASL_USERNAME: optionalText,
    KAFKA_SASL_PASSWORD: optionalText,
    /** TLS to the brokers. */
    KAFKA_SSL: booleanFlag.default(false),
    /** PEM file of the CA that signed the brokers' certificates (default: the system's CAs). */
    KAFKA_SSL_CA_FILE: optionalText,
  };
}

/** Redis settings; `REDIS_KEY_PREFIX` is wrapped in a hash tag by the service. */
export function redisConfigShape(defaults: { keyPrefix: string; commandTimeoutMs?: number }) {
  return {
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: redisKeyPrefix.default(defaults.keyPrefix),
    REDIS_COMMAND_TIMEOUT_MS: positiveInt.default(defaults.commandTimeoutMs ?? 5_000),
    REDIS_RECONNECT_MAX_MS: positiveInt.default(2_000),
  };
}

export const postgresConfigShape = {
  DATABASE_URL: postgresUrl,
  DATABASE_POOL_SIZE: positiveInt.default(10),
};

/** The ops listener (`/healthz`, `/readyz`, `/metrics`); each service has its own default port. */
export function httpConfigShape(defaultPort: number) {
  return { HTTP_PORT: httpPort.default(defaultPort) };
}

/** Settings the runtime reads for every service (the base shape plus Kafka and HTTP). */
export interface RuntimeConfig {
  LOG_LEVEL: z.output<typeof logLevel>;
  HTTP_HOST: string;
  HTTP_PORT: number;
  SHUTDOWN_DEADLINE_MS: number;
  INSTANCE_ID?: string | undefined;
  KAFKA_BROKERS: string[];
  KAFKA_CLIENT_ID: string;
  KAFKA_GROUP_ID: string;
  KAFKA_PROVISION_TOPICS: boolean;
  KAFKA_TOPIC_WAIT_MS: number;
  KAFKA_REPLICATION_FACTOR: number;
  KAFKA_MIN_INSYNC_REPLICAS: number;
  KAFKA_SESSION_TIMEOUT_MS: number;
  KAFKA_SASL_MECHANISM?: 'scram-sha-256' | 'scram-sha-512' | 'plain' | undefined;
  KAFKA_SASL_USERNAME?: string | undefined;
  KAFKA_SASL_PASSWORD?: string | undefined;
  KAFKA_SSL: boolean;
  KAFKA_SSL_CA_FILE?: string | undefined;
  REDIS_URL?: string;
  REDIS_KEY_PREFIX?: string;
  REDIS_COMMAND_TIMEOUT_MS?: number;
  REDIS_RECONNECT_MAX_MS?: number;
  DATABASE_URL?: string;
  DATABASE_POOL_SIZE?: number;
}

/** The settings the runtime reads for every service: logging, HTTP, shutdown and Kafka. */
export function runtimeConfigShape(options: { name: string; httpPort: number }) {
  return {
    ...baseConfigShape,
    ...httpConfigShape(options.httpPort),
    ...kafkaConfigShape({ clientId: options.name, groupId: options.name }),
  };
}

/**
 * A service's config schema from its shape — `runtimeConfigShape(...)`, `redisConfigShape(...)` or
 * `postgresConfigShape` when it uses them, then its own settings named `<SERVICE>_<SETTING>` —
 * with the rules across settings (SASL needs a username and a password together).
 */
export function serviceConfig<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.object(shape).superRefine((config, ctx) => {
    const c = config as {
      KAFKA_SASL_MECHANISM?: string;
      KAFKA_SASL_USERNAME?: string;
      KAFKA_SASL_PASSWORD?: string;
    };
    if (c.KAFKA_SASL_MECHANISM && (!c.KAFKA_SASL_USERNAME || !c.KAFKA_SASL_PASSWORD)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.KAFKA_SASL_USERNAME ? 'KAFKA_SASL_PASSWORD' : 'KAFKA_SASL_USERNAME'],
        message: 'required when KAFKA_SASL_MECHANISM is set',
      });
    }
  });
}
