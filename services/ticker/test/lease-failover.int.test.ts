import { createPgTestContext, uniqueName, type PgTestContext } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createPostgresFencingTokens } from '../src/lease/postgres-tokens.ts';
import { createRedisLeaseBackend, type FencingTokenSource } from '../src/lease/redis-lease.ts';
import type { LeaseBackend } from '../src/lease/lease.ts';
import { tickerKeys } from '../src/redis/keys.ts';
import { loadTickerScripts } from '../src/redis/scripts.ts';
import { createRedisTickerStore } from '../src/store/redis-store.ts';
import { isFencedOut, type TickerStore } from '../src/store/store.ts';
import { startRedisPair, type OwnRedis, type RedisPair } from './lease-redis-pair.ts';

const stack = inject('stack');
const TTL_MS = 60_000;

function acquired(result: Awaited<ReturnType<LeaseBackend['acquire']>>): number {
  if (!result.acquired) throw new Error(`not acquired: held by ${result.holder}`);
  return result.token;
}

describe('the leader lease across a Redis failover to a replica that missed the last acquisition', () => {
  let pair: RedisPair;
  let pg: PgTestContext;
  let prefix: string;
  beforeEach(async () => {
    pair = await startRedisPair();
    pg = await createPgTestContext(stack);
    prefix = uniqueName('tk');
  });
  afterEach(async () => {
    await pair.close();
    await pg.close();
  });

  const on = (redis: OwnRedis, tokens?: FencingTokenSource): { lease: LeaseBackend; store: TickerStore } => {
    const keys = tickerKeys(prefix);
    const scripts = loadTickerScripts(redis.client);
    return {
      lease: createRedisLeaseBackend(scripts, keys, tokens),
      store: createRedisTickerStore(redis.client, scripts, keys),
    };
  };

  /**
   * a and b lead one after the other, the replica has it all; then its link is cut, c acquires on
   * the primary (the replica misses it) and the primary dies. Returns c's token and the lease as
   * the promoted replica serves it.
   */
  async function failOverAfterAcquisitions(tokens?: FencingTokenSource) {
    const primary = on(pair.primary, tokens);
    const tokenA = acquired(await primary.lease.acquire('a/01', TTL_MS));
    await primary.lease.release(`a/01:${tokenA}`);
    const tokenB = acquired(await primary.lease.acquire('b/02', TTL_MS));
    await primary.lease.release(`b/02:${tokenB}`);
    await pair.synced();
    await pair.promoteReplica();
    const tokenC = acquired(await primary.lease.acquire('c/03', TTL_MS));
    await pair.primary.kill();
    return { tokens: [tokenA, tokenB, tokenC], promoted: on(pair.replica, tokens) };
  }

  it('hands the same fencing token out twice with the Redis counter (the problem)', async () => {
    const { tokens, promoted } = await failOverAfterAcquisitions();
    expect(tokens).toEqual([1, 2, 3]);
    // The replica's counter stopped at 2: d is given c's token. Two leaders, one token.
    expect(acquired(await promoted.lease.acquire('d/04', TTL_MS))).toBe(3);
  });

  it('hands out a token above every earlier one with PostgreSQL tokens, and fences the deposed leader out', async () => {
    const source = createPostgresFencingTokens(pg.pool);
    const { tokens, promoted } = await failOverAfterAcquisitions(source);
    const tokenC = tokens[2] ?? 0;
    expect(tokens).toEqual([1, 2, 3]);
    const acquisitionD = await promoted.lease.acquire('d/04', TTL_MS);
    const tokenD = acquired(acquisitionD);
    expect(tokenD).toBeGreaterThan(tokenC);
    // The promoted replica's counter stopped at b's token: the lease reports that Redis lost some.
    expect(acquisitionD).toEqual({ acquired: true, token: 4, counterBehind: 2 });
    // c, still believing it leads, now talks to the promoted replica: refused everywhere.
    const c = `c/03:${tokenC}`;
    expect(await promoted.lease.renew(c, TTL_MS)).toBe(false);
    const refusal = await promoted.store
      .setPause(c, { paused: true, since: 0, commandId: 'c' })
      .catch((e: unknown) => e);
    expect(isFencedOut(refusal)).toBe(true);
    expect(await promoted.lease.release(c)).toBe(false);
    await promoted.store.setPause(`d/04:${tokenD}`, { paused: true, since: 0, commandId: 'd' });
    // The counter on the promoted replica caught up with the token PostgreSQL gave out.
    expect(await pair.replica.client.get(tickerKeys(prefix).fence)).toBe(String(tokenD));
    const { rows } = await pg.pool.query('SELECT token FROM ticker_fencing_tokens WHERE lease = $1', [
      tickerKeys(prefix).lease,
    ]);
    expect(rows).toEqual([{ token: String(tokenD) }]);
  });
});
