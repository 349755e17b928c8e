import { toError } from '@openpenpal/errors';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { backoffDelay } from './retry.ts';

export interface RedisSettings {
  url: string;
  commandTimeoutMs: number;
  reconnectMaxMs: number;
}

/**
 * A Redis connection that fails fast while Redis is away instead of queueing commands: with no
 * offline queue a call during an outage rejects at once (the store turns that into
 * DEPENDENCY_UNAVAILABLE), so the intake holds its partition and the dispatcher backs off, rather
 * than piling up work in memory. ioredis reconnects by itself with capped, jittered backoff.
 */
export async function connectRedis(settings: RedisSettings, logger: Logger, role: string): Promise<Redis> {
  const redis = new Redis(settings.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    // Commands issued in the same tick (several partitions' requests, a claim and an ack) go out
    // in one write: fewer system calls per message.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    commandTimeout: settings.commandTimeoutMs,
    connectionName: `delay-queue-${role}`,
    retryStrategy: (attempt) => backoffDelay(attempt, settings.reconnectMaxMs),
  });
  watch(redis, logger.child({ component: 'redis', role }));
  await redis.connect();
  return redis;
}

/** A second connection with the same settings (pub/sub needs one of its own). */
export async function duplicateRedis(redis: Redis, logger: Logger, role: string): Promise<Redis> {
  const copy = redis.duplicate({ connectionName: `delay-queue-${role}` });
  watch(copy, logger.child({ component: 'redis', role }));
  if (copy.status === 'wait') await copy.connect();
  return copy;
}

/** Logs an outage once when it starts and once when it ends, not on every reconnect attempt. */
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

export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    // quit fails while disconnected; disconnect ends reconnection attempts either way.
    redis.disconnect();
  }
}
