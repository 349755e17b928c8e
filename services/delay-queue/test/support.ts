import { createRedisTestContext, type RedisTestContext, type StackEnv } from '@openpenpal/test-kit';
import type { Redis } from 'ioredis';
import { createDelayStore, type DelayStore, type DelayStoreOptions } from '../src/store/index.ts';

interface ManualClock {
  now(): number;
  set(epochMs: number): void;
  advance(ms: number): void;
}

/**
 * A clock moved by hand. It starts at the real time because fired-marker buckets expire by Redis's
 * own clock (PEXPIREAT): a clock far in the past would make them expire at once.
 */
function manualClock(start: number = Date.now()): ManualClock {
  let now = start;
  return {
    now: () => now,
    set: (epochMs) => {
      now = epochMs;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

export interface StoreContext {
  redis: RedisTestContext;
  clock: ManualClock;
  store: DelayStore;
  prefix: string;
  /** Another store on the same keys through a second connection, as a second replica would have. */
  replica(): Promise<DelayStore>;
  /** A fresh connection for pub/sub. */
  connection(): Promise<Redis>;
  close(): Promise<void>;
}

export async function createStoreContext(
  stack: StackEnv,
  options: Partial<Pick<DelayStoreOptions, 'firedTtlMs'>> = {},
): Promise<StoreContext> {
  const redis = await createRedisTestContext(stack);
  const clock = manualClock();
  const prefix = `${redis.prefix}dq`;
  const store = createDelayStore({ redis: redis.redis, prefix, clock, ...options });
  const extra: Redis[] = [];
  const connection = async (): Promise<Redis> => {
    const client = redis.redis.duplicate({ lazyConnect: true });
    extra.push(client);
    await client.connect();
    return client;
  };
  return {
    redis,
    clock,
    store,
    prefix,
    connection,
    replica: async () => createDelayStore({ redis: await connection(), prefix, clock, ...options }),
    close: async () => {
      await store.close();
      for (const client of extra) client.disconnect();
      // The keys are `{prefix}:…`, outside the test context's own `prefix…` pattern.
      const keys = await scanKeys(redis.redis, store.keys.pattern);
      if (keys.length > 0) await redis.redis.unlink(...keys);
      await redis.close();
    },
  };
}

export const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
