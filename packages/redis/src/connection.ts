import { toError } from '@openpenpal/errors';
import { fullJitterDelay } from '@openpenpal/timing';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisSettings {
  url: string;
  /** A command that gets no answer within this long fails (default 5 s). */
  commandTimeoutMs?: number;
  /** Longest wait between reconnection attempts (default 2 s). */
  reconnectMaxMs?: number;
  /** Shown by CLIENT LIST: `<service>-<role>`. */
  connectionName: string;
  /**
   * Commands issued in the same tick go out in one write (default true): fewer system calls per
   * message on hot paths.
   */
  autoPipelining?: boolean;
}

/**
 * A Redis connection that fails fast while Redis is away instead of queueing commands: with no
 * offline queue a call during an outage rejects at once (callers turn that into
 * DEPENDENCY_UNAVAILABLE and hold their Kafka partition), rather than piling up work in memory.
 * ioredis reconnects by itself with capped, jittered backoff; an outage is logged once when it
 * starts and once when it ends.
 */
export async function connectRedis(settings: RedisSettings, logger: Logger): Promise<Redis> {
  const reconnectMaxMs = settings.reconnectMaxMs ?? 2_000;
  const redis = new Redis(settings.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: settings.autoPipelining ?? true,
    maxRetriesPerRequest: 1,
    commandTimeout: settings.commandTimeoutMs ?? 5_000,
    connectionName: settings.connectionName,
    retryStrategy: (attempt) =>
      Math.max(50, fullJitterDelay({ initialDelayMs: 100, maxDelayMs: reconnectMaxMs }, attempt)),
  });
  watch(redis, logger.child({ component: 'redis', connection: settings.connectionName }));
  await redis.connect();
  return redis;
}

/** A second connection with the same settings (pub/sub needs one of its own). */
export async function duplicateRedis(redis: Redis, logger: Logger, connectionName: string): Promise<Redis> {
  const copy = redis.duplicate({ connectionName });
  watch(copy, logger.child({ component: 'redis', connection: connectionName }));
  if (copy.status === 'wait') await copy.connect();
  return copy;
}

function watch(redis: Redis, logger: Logger): void {
  let down = false;
  redis.on('error', (error: unknown) => {
    if (down) return;
    down = true;
    logger.error({ err: toError(error) }, 'Redis unreachable; reconnecting with backoff');
  });
  redis.on('ready', () => {
    if (down) logger.info('Redis reachable again');
    down = false;
  });
}

/** Readiness: the connection is up and answers a PING within its command timeout. */
export async function redisReady(redis: Redis): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  await redis.ping();
  return true;
}

/** Closes gracefully when connected, at once otherwise; safe to call twice. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    // quit fails while disconnected; disconnect ends reconnection attempts either way.
    redis.disconnect();
  }
}
