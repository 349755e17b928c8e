import { encodeRecord } from '@openpenpal/delay-queue/record';
import { createDelayStore, openShardedStore, storePatterns } from '@openpenpal/delay-queue/store';
import { createRedisTestContext, type RedisTestContext } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createDelayedReads } from '../src/read/delayed.ts';

const stack = inject('stack');

const record = (topic: string) =>
  encodeRecord({ topic, key: 'k', headers: {}, payload: Buffer.from('payload') });

describe("the delay queue's read views", () => {
  let redis: RedisTestContext;
  let prefix: string;
  beforeEach(async () => {
    redis = await createRedisTestContext(stack);
    prefix = `${redis.prefix}dq`;
  });
  afterEach(async () => {
    for (const pattern of storePatterns(prefix)) {
      const [, keys] = await redis.redis.scan('0', 'MATCH', pattern, 'COUNT', 10_000);
      if (keys.length > 0) await redis.redis.unlink(...keys);
    }
    await redis.close();
  });

  it('lists, counts and finds messages across every shard and the unsharded keys of an older store', async () => {
    const now = Date.now();
    let clockAt = now;
    const clock = { now: () => clockAt };
    // Written by a delay queue from before sharding, still draining.
    const unsharded = createDelayStore({ redis: redis.redis, prefix, clock });
    await unsharded.schedule({ id: 'old', dueAt: now + 500, record: record('t.legacy') });
    const store = await openShardedStore({ redis: redis.redis, prefix, clock, shardCount: 4 });
    const ids = Array.from({ length: 12 }, (_, i) => `m-${i}`);
    // Due times interleave across shards, so the earliest-first list must merge them.
    for (const [i, id] of ids.entries()) {
      await store.schedule({ id, dueAt: now + 1_000 * (i + 1), record: record(i % 2 ? 't.odd' : 't.even') });
    }
    expect(new Set(ids.map((id) => store.shardOf(id))).size).toBeGreaterThan(1);
    // m-0 is claimed by a dispatcher when it falls due.
    clockAt = now + 1_000;
    const claimed = await store.shard(store.shardOf('m-0')).claimDue({ limit: 1, visibilityMs: 60_000 });
    expect(claimed.map((claim) => claim.id)).toEqual(['m-0']);

    const reads = createDelayedReads(redis.redis, prefix);
    expect(await reads.sizes()).toEqual({ pending: 12, in_flight: 1 });
    expect(await reads.counts(now + 2_500)).toEqual({
      pending: 12,
      in_flight: 1,
      // old and m-1 are due by then (m-0 is in flight).
      overdue: 2,
      by_topic: { 't.legacy': 1, 't.even': 6, 't.odd': 6 },
      complete: true,
    });
    const next = await reads.nextDue(5);
    expect(next.map((view) => view.message_id)).toEqual(['old', 'm-1', 'm-2', 'm-3', 'm-4']);
    expect(next[0]).toMatchObject({ target_topic: 't.legacy', key: 'k', state: 'pending', attempts: 0 });
    expect(await reads.exists('old')).toBe(true);
    expect(await reads.exists('m-0')).toBe(true);
    expect(await reads.exists('m-11')).toBe(true);
    expect(await reads.exists('never')).toBe(false);
    await store.close();
    await unsharded.close();
  });
});
