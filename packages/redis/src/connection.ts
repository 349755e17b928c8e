import { toError } from '@openpenpal/errors';
import { fullJitterDelay } from '@openpenpal/timing';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisClient } from './scripts.ts';

export interface RedisSettings {
  /**
   * `redis://[user:password@]host:port[/db]`, or a Redis Cluster's nodes as several hosts:
   * `redis://[user:password@]host1:port1,host2:port2,…` (any of them are seeds; list the
   * primaries at least). `rediss://` for TLS.
   */
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

/** The nodes and login of a Redis URL naming several hosts (a cluster); undefined for one host. */
export interface ClusterUrl {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

const URL_PARTS = /^(rediss?):\/\/(?:([^@/]*)@)?([^/?#]+)(?:\/[^?#]*)?(?:[?#].*)?$/;

/** Reads `redis://[user:password@]h1:p1,h2:p2,…`; a URL with one host is not a cluster's. */
export function parseClusterUrl(url: string): ClusterUrl | undefined {
  const match = URL_PARTS.exec(url);
  if (!match?.[3]?.includes(',')) return undefined;
  const [, scheme, userinfo, hosts] = match;
  const nodes = hosts.split(',').map((entry) => {
    const at = entry.lastIndexOf(':');
    const host = at >= 0 ? entry.slice(0, at) : entry;
    const port = at >= 0 ? Number(entry.slice(at + 1)) : 6379;
    if (!host || !Number.isInteger(port) || port <= 0 || port > 65_535) {
      throw new TypeError(`a Redis URL lists "${entry}", not a host:port`);
    }
    return { host, port };
  });
  const parsed: ClusterUrl = { nodes, tls: scheme === 'rediss' };
  if (userinfo) {
    const colon = userinfo.indexOf(':');
    const user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (user) parsed.username = user;
    if (colon >= 0) parsed.password = decodeURIComponent(userinfo.slice(colon + 1));
  }
  return parsed;
}

/**
 * A Redis connection that fails fast while Redis is away instead of queueing commands: with no
 * offline queue a call during an outage rejects at once (callers turn that into
 * DEPENDENCY_UNAVAILABLE and hold their Kafka partition), rather than piling up work in memory.
 * ioredis reconnects by itself with capped, jittered backoff; an outage is logged once when it
 * starts and once when it ends.
 *
 * A URL naming several hosts connects to a Redis Cluster (an ioredis `Cluster`) with the same
 * options: no offline queue, the command timeout, the connection name on every node. Commands
 * follow MOVED/ASK redirections; after a primary fails, the client reads the slot map again and
 * sends to the promoted replica. Every owner keeps its keys under one hash tag (`keySpace`), so each
 * Lua script's keys are in one slot.
 */
export async function connectRedis(settings: RedisSettings, logger: Logger): Promise<Redis> {
  const reconnectMaxMs = settings.reconnectMaxMs ?? 2_000;
  const retry = (attempt: number) =>
    Math.max(50, fullJitterDelay({ initialDelayMs: 100, maxDelayMs: reconnectMaxMs }, attempt));
  const options = {
    enableAutoPipelining: settings.autoPipelining ?? true,
    maxRetriesPerRequest: 1,
    commandTimeout: settings.commandTimeoutMs ?? 5_000,
    connectionName: settings.connectionName,
  } satisfies RedisOptions;
  const cluster = parseClusterUrl(settings.url);
  const redis = cluster
    ? asRedis(
        new Cluster(cluster.nodes, {
          lazyConnect: true,
          enableOfflineQueue: false,
          enableAutoPipelining: options.enableAutoPipelining,
          clusterRetryStrategy: retry,
          redisOptions: {
            ...options,
            ...(cluster.username ? { username: cluster.username } : {}),
            ...(cluster.password ? { password: cluster.password } : {}),
            ...(cluster.tls ? { tls: {} } : {}),
          },
        }),
      )
    : new Redis(settings.url, {
        ...options,
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: retry,
      });
  watch(redis, logger.child({ component: 'redis', connection: settings.connectionName }));
  await redis.connect();
  return redis;
}

/**
 * The services call the commands both clients share (and Lua scripts through `loadLuaScripts`,
 * which takes either), so a cluster client is handed out under the standalone client's type;
 * `isCluster` tells them apart where it matters.
 */
function asRedis(cluster: Cluster): Redis {
  return cluster as unknown as Redis;
}

/** True when the client is a Redis Cluster client (connectRedis with several hosts). */
export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

/** A second connection with the same settings (pub/sub needs one of its own). */
export async function duplicateRedis(
  redis: RedisClient,
  logger: Logger,
  connectionName: string,
): Promise<Redis> {
  const client = redis;
  const copy: RedisClient = isCluster(client)
    ? client.duplicate(undefined, {
        redisOptions: { ...client.options.redisOptions, connectionName },
      })
    : client.duplicate({ connectionName });
  watch(copy, logger.child({ component: 'redis', connection: connectionName }));
  if (copy.status === 'wait') await copy.connect();
  return copy as Redis;
}

function watch(redis: RedisClient, logger: Logger): void {
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
