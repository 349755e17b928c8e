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
