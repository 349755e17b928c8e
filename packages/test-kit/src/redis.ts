import { Redis } from 'ioredis';
import { uniqueName } from './names.ts';
import type { StackEnv } from './stack-env.ts';

export interface RedisTestContext {
  redis: Redis;
  /** Every key this test writes starts with it (`t-<hex>:`). */
  prefix: string;
  key(name: string): string;
  /** Deletes the test's keys and disconnects; safe to call twice. */
  close(): Promise<void>;
}

export async function createRedisTestContext(stack: StackEnv): Promise<RedisTestContext> {
  const redis = new Redis(stack.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  const prefix = `${uniqueName('t')}:`;
  let closed = false;
  return {
    redis,
    prefix,
    key: (name) => `${prefix}${name}`,
    close: async () => {
      if (closed) return;
      closed = true;
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
