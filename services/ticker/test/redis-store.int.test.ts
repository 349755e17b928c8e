import { uniqueName } from '@openpenpal/test-kit';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createRedisLeaseBackend } from '../src/lease/redis-lease.ts';
import { tickerKeys, type TickerKeys } from '../src/redis/keys.ts';
import { loadTickerScripts, type TickerScripts } from '../src/redis/scripts.ts';
import { createRedisTickerStore } from '../src/store/redis-store.ts';
import { isFencedOut, type TickerStore } from '../src/store/store.ts';

const stack = inject('stack');

describe('the ticker state in Redis', () => {
  let redis: Redis;
  let prefix: string;
  let keys: TickerKeys;
  let scripts: TickerScripts;
  let store: TickerStore;
  beforeEach(async () => {
    redis = new Redis(stack.redisUrl, { lazyConnect: true });
    await redis.connect();
    prefix = uniqueName('tk');
    keys = tickerKeys(prefix);
    scripts = loadTickerScripts(redis);
    store = createRedisTickerStore(redis, scripts, keys);
  });
  afterEach(async () => {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', keys.pattern, 'COUNT', 1_000);
      if (found.length > 0) await redis.unlink(...found);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
  });

  const empty = {
    checkpoints: new Map(),
    deletes: [],
    running: [],
    doneExecutions: [],
    clearInflight: false,
  };

  it('hands out a higher fencing token on every acquisition and lets only the holder renew or release', async () => {
    const lease = createRedisLeaseBackend(scripts, keys);
    expect(await lease.acquire('a', 5_000)).toEqual({ acquired: true, token: 1 });
    const refused = await lease.acquire('b', 5_000);
    expect(refused).toMatchObject({ acquired: false, holder: 'a:1' });
    expect(refused.acquired ? 0 : refused.remainingMs).toBeGreaterThan(4_000);
    expect(await lease.renew('b:1', 5_000)).toBe(false);
    expect(await lease.renew('a:1', 5_000)).toBe(true);
    expect(await lease.release('b:1')).toBe(false);
    expect(await lease.release('a:1')).toBe(true);
    expect(await lease.acquire('b', 5_000)).toEqual({ acquired: true, token: 2 });
    expect(await redis.pttl(keys.lease)).toBeGreaterThan(4_000);
  });

  it('lets a process take over the lease of an earlier process of its own instance, and no other', async () => {
    const lease = createRedisLeaseBackend(scripts, keys);
    await lease.acquire('ticker-1/aaaa1111', 10_000);
    for (const other of ['ticker-10', 'ticker', 'ticker-1/aaaa1111/x', '']) {
      expect(await lease.acquire(`${other}/bbbb2222`, 10_000, other)).toMatchObject({ acquired: false });
    }
    expect(await lease.acquire('ticker-1/cccc3333', 10_000, 'ticker-1')).toEqual({
      acquired: true,
      token: 2,
      replaced: 'ticker-1/aaaa1111:1',
    });
    expect(await lease.renew('ticker-1/aaaa1111:1', 10_000)).toBe(false);
  });

  it('remembers dead-lettered definition records under the lease, and forgets tasks', async () => {
    const lease = createRedisLeaseBackend(scripts, keys);
    await lease.acquire('a', 5_000);
    await store.recordDeadLetteredDefinitions(
      'a:1',
      [
        ['t1', '0:5'],
        ['t2', '2:9'],
      ],
      [],
    );
    await store.recordDeadLetteredDefinitions('a:1', [['t3', '1:1']], ['t1']);
    expect(await store.deadLetteredDefinitions()).toEqual(
      new Map([
        ['t2', '2:9'],
        ['t3', '1:1'],
      ]),
    );
    await expect(store.recordDeadLetteredDefinitions('b:2', [['t4', '0:1']], [])).rejects.toSatisfy(
      isFencedOut,
    );
  });

  it('refuses every write of a deposed leader and leaves the state as the new leader wrote it', async () => {
    const lease = createRedisLeaseBackend(scripts, keys);
    await lease.acquire('old', 100);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await lease.acquire('new', 5_000);
    const checkpoint = { lastNominal: 1_000, runCount: 1, off: false };
    await store.commit('new:2', 0, { ...empty, checkpoints: new Map([['t', checkpoint]]) });

    const stale = {
      ...empty,
      checkpoints: new Map([['t', { lastNominal: 2_000, runCount: 2, off: false }]]),
    };
    const failures = await Promise.allSettled([
      store.commit('old:1', 0, stale),
      store.begin('old:1', 0, { token: 1, since: 0, topics: [] }, []),
      store.setPause('old:1', { paused: true }),
    ]);
    for (const failure of failures) {
      expect(failure.status).toBe('rejected');
      expect(isFencedOut((failure as PromiseRejectedResult).reason)).toBe(true);
    }
    const loaded = await store.load();
    expect(loaded.checkpoints.get('t')).toEqual(checkpoint);
    expect(loaded.pause).toEqual({ paused: false });
    expect(loaded.inflight).toBeUndefined();
  });

  it('keeps the inflight marker from begin until the commit that clears it', async () => {
    await createRedisLeaseBackend(scripts, keys).acquire('me', 5_000);
    const marker = { token: 1, since: 123, topics: ['a', 'b'] };
    await store.begin('me:1', 0, marker, []);
    expect((await store.load()).inflight).toEqual(marker);
    await store.commit('me:1', 0, { ...empty, clearInflight: true });
    expect((await store.load()).inflight).toBeUndefined();
  });

  it('blocks a forbid-policy task while another execution holds its slot, until it finishes or its deadline passes', async () => {
    await createRedisLeaseBackend(scripts, keys).acquire('me', 5_000);
    await store.commit('me:1', 0, {
      ...empty,
      running: [{ taskId: 't', executionId: 'e1', deadline: 10_000 }],
    });
    expect(
      await store.begin('me:1', 5_000, { token: 1, since: 0, topics: [] }, [
        { taskId: 't', executionId: 'e2' },
      ]),
    ).toEqual(new Map([['t', 'e1']]));
    expect(
      await store.begin('me:1', 5_000, { token: 1, since: 0, topics: [] }, [
        { taskId: 't', executionId: 'e1' },
      ]),
    ).toEqual(new Map());
    expect(
      await store.begin('me:1', 10_001, { token: 1, since: 0, topics: [] }, [
        { taskId: 't', executionId: 'e2' },
      ]),
    ).toEqual(new Map());
    expect(await store.finishRunning('t', 'e1')).toBe(true);
    expect(await redis.hlen(keys.running)).toBe(0);
  });

  it('does not leave a running mark behind for an execution that finished before the mark was written', async () => {
    await createRedisLeaseBackend(scripts, keys).acquire('me', 5_000);
    expect(await store.finishRunning('t', 'fast')).toBe(false);
    await store.commit('me:1', 0, {
      ...empty,
      running: [{ taskId: 't', executionId: 'fast', deadline: 10_000 }],
    });
    expect(await redis.hget(keys.running, 't')).toBeNull();
    expect(await redis.hget(keys.finished, 't')).toBeNull();
  });

  it('remembers applied run_now executions and stores the pause state', async () => {
    await createRedisLeaseBackend(scripts, keys).acquire('me', 5_000);
    await store.commit('me:1', Date.now(), { ...empty, doneExecutions: ['x1'] });
    expect(await store.doneExecutions(['x1', 'x2'])).toEqual(new Set(['x1']));
    await store.setPause('me:1', { paused: true, since: 5, by: 'admin' });
    expect((await store.load()).pause).toEqual({ paused: true, since: 5, by: 'admin' });
  });

  it('writes large commits in several fenced calls and deletes removed tasks', async () => {
    await createRedisLeaseBackend(scripts, keys).acquire('me', 5_000);
    const many = new Map(
      Array.from({ length: 12_000 }, (_, i) => [`t${i}`, { lastNominal: i, runCount: 0, off: false }]),
    );
    await store.commit('me:1', 0, { ...empty, checkpoints: many });
    expect(await redis.hlen(keys.checkpoints)).toBe(12_000);
    await store.commit('me:1', 0, { ...empty, deletes: ['t0', 't1'] });
    expect(await redis.hlen(keys.checkpoints)).toBe(11_998);
    expect(Object.values(keys).every((key: string) => key.startsWith(`{${prefix}}:`))).toBe(true);
  });
});
