import { createPgTestContext, uniqueName, type PgTestContext } from '@openpenpal/test-kit';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { LeaseBackend } from '../src/lease/lease.ts';
import { createPostgresFencingTokens } from '../src/lease/postgres-tokens.ts';
import { createRedisLeaseBackend, type FencingTokenSource } from '../src/lease/redis-lease.ts';
import { tickerKeys, type TickerKeys } from '../src/redis/keys.ts';
import { loadTickerScripts, type TickerScripts } from '../src/redis/scripts.ts';

const stack = inject('stack');

describe('fencing tokens from PostgreSQL', () => {
  let redis: Redis;
  let pg: PgTestContext;
  let keys: TickerKeys;
  let scripts: TickerScripts;
  let tokens: FencingTokenSource;
  let lease: LeaseBackend;
  beforeEach(async () => {
    redis = new Redis(stack.redisUrl, { lazyConnect: true });
    await redis.connect();
    pg = await createPgTestContext(stack);
    keys = tickerKeys(uniqueName('tk'));
    scripts = loadTickerScripts(redis);
    tokens = createPostgresFencingTokens(pg.pool);
    lease = createRedisLeaseBackend(scripts, keys, tokens);
  });
  afterEach(async () => {
    await redis.del(keys.lease, keys.fence);
    redis.disconnect();
    await pg.close();
  });

  const rowToken = async (): Promise<unknown[]> => {
    const result = await pg.pool.query<{ token: string }>(
      'SELECT token FROM ticker_fencing_tokens WHERE lease = $1',
      [keys.lease],
    );
    return result.rows;
  };

  it('takes no token while another replica holds the lease, and lets only the holder renew or release', async () => {
    expect(await lease.acquire('a/01', 5_000)).toEqual({ acquired: true, token: 1 });
    const refused = await lease.acquire('b/02', 5_000);
    expect(refused).toMatchObject({ acquired: false, holder: 'a/01:1' });
    expect(refused.acquired ? 0 : refused.remainingMs).toBeGreaterThan(4_000);
    expect(await rowToken()).toEqual([{ token: '1' }]);
    expect(await lease.renew('b/02:1', 5_000)).toBe(false);
    expect(await lease.renew('a/01:1', 5_000)).toBe(true);
    expect(await lease.release('a/01:1')).toBe(true);
    expect(await lease.acquire('b/02', 5_000)).toEqual({ acquired: true, token: 2 });
  });

  it('lets a restarted process take over its predecessor under a new token', async () => {
    await lease.acquire('ticker-1/aaaa1111', 10_000);
    expect(await lease.acquire('ticker-2/bbbb2222', 10_000, 'ticker-2')).toMatchObject({ acquired: false });
    expect(await lease.acquire('ticker-1/cccc3333', 10_000, 'ticker-1')).toEqual({
      acquired: true,
      token: 2,
      replaced: 'ticker-1/aaaa1111:1',
    });
  });

  it('starts above the Redis counter of an earlier deployment, and stays above it when PostgreSQL lost its row', async () => {
    await redis.set(keys.fence, '41');
    const first = await lease.acquire('a/01', 5_000);
    expect(first).toEqual({ acquired: true, token: 42 });
    await lease.release('a/01:42');
    // A restored backup, or a failover to a standby that missed the commit.
    await pg.pool.query('DELETE FROM ticker_fencing_tokens');
    expect(await lease.acquire('b/02', 5_000)).toEqual({ acquired: true, token: 43 });
    expect(await rowToken()).toEqual([{ token: '43' }]);
  });

  it('gives the lease to one of several racing replicas, under a token no other acquisition had', async () => {
    // One token source each, as separate processes: they also race to create the table.
    const results = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((name) =>
        createRedisLeaseBackend(scripts, keys, createPostgresFencingTokens(pg.pool)).acquire(
          `${name}/0${name.charCodeAt(0)}`,
          5_000,
        ),
      ),
    );
    const winners = results.flatMap((r) => (r.acquired ? [r.token] : []));
    expect(winners).toHaveLength(1);
    // Losers of the race may have taken tokens too (gaps); the winner's is the counter's value.
    expect(await redis.get(keys.fence)).toBe(String(winners[0]));
    const [row] = (await rowToken()) as { token: string }[];
    expect(Number(row?.token)).toBeGreaterThanOrEqual(winners[0] ?? 0);
  });

  it('refuses, in the script, a token that is not above the Redis counter', async () => {
    await redis.set(keys.fence, '7');
    expect(await scripts.acquireLease([keys.lease, keys.fence], ['a/01', 5_000, '', '7'])).toEqual([-1, 7]);
    expect(await redis.exists(keys.lease)).toBe(0);
    expect(await scripts.acquireLease([keys.lease, keys.fence], ['a/01', 5_000, '', '8'])).toEqual([1, 8]);
    expect(await redis.get(keys.lease)).toBe('a/01:8');
  });

  it('gives up on a row another transaction holds locked, and takes the next token once it ends', async () => {
    const source = createPostgresFencingTokens(pg.pool, { timeoutMs: 300 });
    expect(await source.next(keys.lease, 0)).toBe(1);
    // An acquirer frozen inside its transaction, holding the row.
    const frozen = await pg.pool.connect();
    try {
      await frozen.query('BEGIN');
      await frozen.query('UPDATE ticker_fencing_tokens SET token = token + 1 WHERE lease = $1', [keys.lease]);
      const started = Date.now();
      await expect(source.next(keys.lease, 0)).rejects.toThrow(/statement timeout/);
      expect(Date.now() - started).toBeLessThan(2_000);
      await frozen.query('ROLLBACK');
    } finally {
      frozen.release();
    }
    expect(await source.next(keys.lease, 0)).toBe(2);
  });
});
