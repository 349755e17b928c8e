// Runs on the local stack's cluster profile (`pnpm test:cluster` starts it, runs the
// *cluster-profile tests and stops it); skipped without the profile's env file.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { closeRedis, connectRedis, duplicateRedis, isCluster } from '@openpenpal/redis';
import { findWorkspaceRoot, uniqueName } from '@openpenpal/test-kit';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisLeaseBackend } from '../src/lease/redis-lease.ts';
import { tickerKeys } from '../src/redis/keys.ts';
import { loadTickerScripts } from '../src/redis/scripts.ts';
import { createRedisTickerStore } from '../src/store/redis-store.ts';
import { isFencedOut } from '../src/store/store.ts';

const envFile = process.env.CLUSTER_ENV_FILE ?? join(findWorkspaceRoot(), '.stack', 'cluster', 'env');
const env = existsSync(envFile) ? parseEnv(readFileSync(envFile, 'utf8')) : undefined;

describe.skipIf(env?.STACK_PROFILE !== 'cluster')('the ticker on a Redis Cluster', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = await connectRedis(
      { url: env?.REDIS_URL ?? '', connectionName: 'ticker-cluster-test' },
      pino({ level: 'silent' }),
    );
  });
  afterAll(async () => {
    await closeRedis(redis);
  });

  it('makes a copy of a cluster connection (for pub/sub) that is a cluster connection under its own name', async () => {
    const copy = await duplicateRedis(redis, pino({ level: 'silent' }), 'ticker-cluster-copy');
    try {
      expect(isCluster(copy)).toBe(true);
      expect(await copy.call('CLIENT', 'GETNAME')).toBe('ticker-cluster-copy');
      expect(await redis.call('CLIENT', 'GETNAME')).toBe('ticker-cluster-test');
    } finally {
      await closeRedis(copy);
    }
  });

  it('runs the lease and every fenced state script, all keys in one slot of the cluster', async () => {
    expect(isCluster(redis)).toBe(true);
    const keys = tickerKeys(uniqueName('tk-cluster'));
    const scripts = loadTickerScripts(redis);
    const store = createRedisTickerStore(redis, scripts, keys);
    const lease = createRedisLeaseBackend(scripts, keys);

    expect(await lease.acquire('a', 5_000)).toEqual({ acquired: true, token: 1 });
    expect(await lease.renew('a:1', 5_000)).toBe(true);
    expect(await store.begin('a:1', 0, { token: 1, since: 7, topics: ['t'] }, [])).toEqual(new Map());
    const checkpoint = { lastNominal: 1_000, runCount: 1, off: false };
    await store.commit('a:1', 0, {
      checkpoints: new Map([['task', checkpoint]]),
      deletes: [],
      running: [],
      doneExecutions: ['e1'],
      clearInflight: true,
    });
    await store.setPause('a:1', { paused: true, since: 5, by: 'admin' });
    expect(await store.load()).toEqual({
      checkpoints: new Map([['task', checkpoint]]),
      inflight: undefined,
      pause: { paused: true, since: 5, by: 'admin' },
    });
    expect(await store.doneExecutions(['e1', 'e2'])).toEqual(new Set(['e1']));
    expect(await lease.release('a:1')).toBe(true);
    expect(await lease.acquire('b', 5_000)).toEqual({ acquired: true, token: 2 });
    await expect(store.setPause('a:1', { paused: false })).rejects.toSatisfy(isFencedOut);

    // One slot: the node that serves the lease serves every other key of the ticker.
    const slots = await Promise.all(
      [keys.lease, keys.fence, keys.checkpoints, keys.pause, keys.commandsDone].map(
        async (key) => (await redis.call('CLUSTER', 'KEYSLOT', key)) as number,
      ),
    );
    expect(new Set(slots).size).toBe(1);
    await redis.del(keys.lease, keys.fence, keys.checkpoints, keys.pause, keys.commandsDone, keys.inflight);
  });
});
