import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface RedisScript {
  run(keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
}

/**
 * A Lua script run by its SHA1 (EVALSHA), falling back to EVAL when the server does not know it
 * yet (after a restart or a SCRIPT FLUSH); EVAL also loads it for the next call.
 */
export function redisScript(redis: Redis, source: string): RedisScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return {
    run: async (keys, args) => {
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return redis.eval(source, keys.length, ...keys, ...args);
      }
    },
  };
}
