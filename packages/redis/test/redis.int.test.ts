import { createRedisTestContext, type RedisTestContext } from '@openpenpal/test-kit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  closeRedis,
  connectRedis,
  keySpace,
  loadLuaScripts,
  readLuaScript,
  redisReady,
} from '../src/index.ts';

const stack = inject('stack');
const logger = pino({ level: 'silent' });
const dir = new URL('./lua/', import.meta.url);

describe('redis module', () => {
  let ctx: RedisTestContext;
  beforeAll(async () => {
    ctx = await createRedisTestContext(stack);
  });
  afterAll(async () => {
    await ctx.close();
  });

  it('runs a script from its file with its include, and again after the server forgot it', async () => {
    const redis = await connectRedis({ url: stack.redisUrl, connectionName: 'test-scripts' }, logger);
    try {
      const scripts = loadLuaScripts(redis, {
        dir,
        namespace: 'test',
        scripts: { setDouble: { file: 'set-double', numberOfKeys: 1 } },
      });
      const key = ctx.key('n');
      expect(await scripts.setDouble([key], [21])).toBe(42);
      await redis.script('FLUSH');
      expect(await scripts.setDouble([key], [4])).toBe(8);
      expect(await redis.get(key)).toBe('8');
      expect(() => scripts.setDouble([], [1])).toThrow(/takes 1 keys/);
      expect(await redisReady(redis)).toBe(true);
    } finally {
      await closeRedis(redis);
      await closeRedis(redis);
    }
  });

  it('refuses a script without a KEYS/ARGV/Returns header', () => {
    expect(() => readLuaScript(dir, 'no-header')).toThrow(/header comment must list KEYS/);
  });

  it('keeps every key of a space in one hash slot and refuses braces in the prefix', () => {
    const space = keySpace('openpenpal:thing');
    expect(space.key('a', 1)).toBe('{openpenpal:thing}:a:1');
    expect(space.pattern).toBe('{openpenpal:thing}:*');
    expect(() => keySpace('bad{tag}')).toThrow(/free of braces/);
  });

  it('fails to connect at once while Redis is unreachable', async () => {
    const redis = await connectRedis(
      { url: 'redis://127.0.0.1:1', connectionName: 'test-down', reconnectMaxMs: 100 },
      logger,
    ).catch((error: unknown) => error);
    expect(redis).toBeInstanceOf(Error);
  });
});
