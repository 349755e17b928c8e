import { setTimeout as sleep } from 'node:timers/promises';
import { keyPartition } from '@openpenpal/messaging';
import { createRedisTestContext, type RedisTestContext } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  createDelayStore,
  openShardedStore,
  readShardLayout,
  storePatterns,
  type ShardedDelayStore,
} from '../src/store/index.ts';
import { bytes, scanKeys } from './support.ts';

const stack = inject('stack');
const VISIBILITY = 30_000;

/** Ids whose shard differs between `before` and `after` shards (and some whose shard does not). */
function idsMoving(before: number, after: number, count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) {
    const id = `moving-${i}`;
    if (keyPartition(id, before) !== keyPartition(id, after)) ids.push(id);
  }
  return ids;
}

describe('sharded delay store', () => {
  let redis: RedisTestContext;
  let prefix: string;
  let now: number;
  const clock = { now: () => now };
  const opened: ShardedDelayStore[] = [];
  const open = async (shardCount: number, firedTtlMs?: number) => {
    const store = await openShardedStore({
      redis: redis.redis,
      prefix,
      clock,
      shardCount,
      ...(firedTtlMs ? { firedTtlMs } : {}),
    });
    opened.push(store);
    return store;
  };

  beforeEach(async () => {
    redis = await createRedisTestContext(stack);
    prefix = `${redis.prefix}dq`;
    now = Date.now();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    for (const pattern of storePatterns(prefix)) {
      const keys = await scanKeys(redis.redis, pattern);
      if (keys.length > 0) await redis.redis.unlink(...keys);
    }
    await redis.close();
  });

  it("stores each id in the shard of its request topic partition, under that shard's own hash tag", async () => {
    const store = await open(4);
    const ids = Array.from({ length: 40 }, (_, i) => `letter-${i}`);
    for (const id of ids) {
      expect(await store.schedule({ id, dueAt: now + 1_000, record: bytes(id) })).toBe('scheduled');
    }
    const byShard = new Map<number, string[]>();
    for (const id of ids) {
      const shard = keyPartition(id, 4);
      expect(store.shardOf(id)).toBe(shard);
      byShard.set(shard, [...(byShard.get(shard) ?? []), id]);
    }
    expect(byShard.size).toBe(4);
    for (const [shard, members] of byShard) {
      const keys = store.shard(shard).keys;
      expect(keys.pending).toBe(`{${prefix}:s${shard}}:pending`);
      expect((await redis.redis.zrange(keys.pending, 0, -1)).sort()).toEqual([...members].sort());
    }
    expect(await store.stats()).toEqual({ pending: 40, inFlight: 0 });
    expect(await readShardLayout(redis.redis, prefix)).toEqual({ counts: [4], legacy: false });
  });

  it('lets the cancel of an id meet its schedule, from another replica too', async () => {
    const first = await open(4);
    const second = await open(4);
    const ids = Array.from({ length: 20 }, (_, i) => `pair-${i}`);
    const scheduled = await first.applyBatch(
      ids.map((id) => ({ kind: 'schedule', item: { id, dueAt: now + 5_000, record: bytes(id) } })),
    );
    expect(scheduled.every((result) => 'outcome' in result && result.outcome === 'scheduled')).toBe(true);
    const cancelled = await second.applyBatch(ids.map((id) => ({ kind: 'cancel', id })));
    expect(cancelled.map((result) => ('outcome' in result ? result.outcome : result.kind))).toEqual(
      ids.map(() => 'cancelled'),
    );
    expect(await first.stats()).toEqual({ pending: 0, inFlight: 0 });
  });

  it('keeps serving ids stored under an earlier shard count after the topic grew', async () => {
    const before = await open(2);
    const [pending, inFlight, fired] = idsMoving(2, 4, 3) as [string, string, string];
    await before.schedule({ id: fired, dueAt: now - 2_000, record: bytes(fired) });
    await before.schedule({ id: inFlight, dueAt: now - 1_000, record: bytes(inFlight) });
    await before.schedule({ id: pending, dueAt: now + 60_000, record: bytes(pending) });
    // fired was published and acknowledged; inFlight is held by a dispatcher.
    const claims = [
      ...(await before.shard(0).claimDue({ limit: 10, visibilityMs: VISIBILITY })),
      ...(await before.shard(1).claimDue({ limit: 10, visibilityMs: VISIBILITY })),
    ];
    expect(claims.map((claim) => claim.id).sort()).toEqual([fired, inFlight].sort());
    const firedClaim = claims.filter((claim) => claim.id === fired);
    expect(await before.shard(keyPartition(fired, 2)).ack(firedClaim)).toMatchObject({ acked: 1 });

    const after = await open(4);
    expect(after.layout()).toEqual({ counts: [2, 4], legacy: false });
    expect(await after.schedule({ id: pending, dueAt: now, record: bytes('again') })).toBe('duplicate');
    expect(await after.schedule({ id: inFlight, dueAt: now, record: bytes('again') })).toBe('in_flight');
    expect(await after.schedule({ id: fired, dueAt: now, record: bytes('again') })).toBe('already_fired');
    expect(await after.cancel(pending)).toBe('cancelled');
    expect(await after.cancel(inFlight)).toBe('in_flight');
    expect(await after.cancel(fired)).toBe('already_fired');
    // Nothing was stored in the shards of the new count.
    for (const id of [pending, inFlight, fired]) {
      expect(await after.shard(keyPartition(id, 4)).known([id])).toEqual([false]);
    }
    // A cancelled id is forgotten: scheduled again, it goes to its shard of the new count.
    expect(await after.schedule({ id: pending, dueAt: now, record: bytes('new') })).toBe('scheduled');
    expect(await after.shard(keyPartition(pending, 4)).known([pending])).toEqual([true]);
    // A replica that still runs with the old count adopts the larger one at its next refresh.
    expect(before.shardOf(pending)).toBe(keyPartition(pending, 2));
    await before.refreshLayout();
    expect(before.shardOf(pending)).toBe(keyPartition(pending, 4));
  });

  it('hands a shard over without the new owner repeating what the old owner published', async () => {
    // Two replicas' views of one shard: the partition (and so the shard) moves from old to new
    // while old holds a claim, as when a rebalance lands during a publish.
    const oldOwner = (await open(3)).shard(1);
    const newOwner = (await open(3)).shard(1);
    const t0 = now;
    await oldOwner.schedule({ id: 'published', dueAt: t0, record: bytes('p') });
    await oldOwner.schedule({ id: 'orphaned', dueAt: t0, record: bytes('o') });
    const held = await oldOwner.claimDue({ limit: 10, visibilityMs: VISIBILITY });
    expect(held.map((claim) => claim.id).sort()).toEqual(['orphaned', 'published']);
    // The new owner starts dispatching at once: claims in force are not its to take.
    now = t0 + 1;
    expect(await newOwner.claimDue({ limit: 10, visibilityMs: VISIBILITY })).toEqual([]);
    now = t0 + VISIBILITY - 1;
    expect(await newOwner.claimDue({ limit: 10, visibilityMs: VISIBILITY })).toEqual([]);
    // The old owner's publish of one was acknowledged before it stopped: it acks, whoever owns the
    // partition now. The other it never acknowledged (it died).
    expect(await oldOwner.ack(held.filter((claim) => claim.id === 'published'))).toEqual({
      acked: 1,
      stale: [],
    });
    now = t0 + VISIBILITY + 1;
    const taken = await newOwner.claimDue({ limit: 10, visibilityMs: VISIBILITY });
    expect(taken.map((claim) => [claim.id, claim.redelivered])).toEqual([['orphaned', true]]);
    // A late ack of the old claim cannot remove the new owner's claim.
    expect(await oldOwner.ack(held.filter((claim) => claim.id === 'orphaned'))).toEqual({
      acked: 0,
      stale: ['orphaned'],
    });
    expect(await newOwner.ack(taken)).toEqual({ acked: 1, stale: [] });
    now = t0 + 3 * VISIBILITY;
    expect(await newOwner.claimDue({ limit: 10, visibilityMs: VISIBILITY })).toEqual([]);
    expect(await newOwner.schedule({ id: 'published', dueAt: now, record: bytes('p') })).toBe(
      'already_fired',
    );
  });

  it('looks up and drains the unsharded keys of a store written before sharding, then retires them', async () => {
    const firedTtlMs = 1_400;
    const unsharded = createDelayStore({ redis: redis.redis, prefix, clock, firedTtlMs });
    const ids = ['old-1', 'old-2', 'old-3'];
    for (const id of ids) await unsharded.schedule({ id, dueAt: now, record: bytes(id) });

    const store = await open(3, firedTtlMs);
    expect(store.layout().legacy).toBe(true);
    expect(await store.stats()).toEqual({ pending: 3, inFlight: 0 });
    expect(await store.schedule({ id: 'old-1', dueAt: now + 9, record: bytes('x') })).toBe('duplicate');
    expect(await store.cancel('old-2')).toBe('cancelled');
    // The dispatcher of partition 0 drains them through the same store.
    const claims = await store.shard('legacy').claimDue({ limit: 10, visibilityMs: VISIBILITY });
    expect(claims.map((claim) => claim.id).sort()).toEqual(['old-1', 'old-3']);
    await store.shard('legacy').ack(claims);
    expect(await store.schedule({ id: 'old-3', dueAt: now, record: bytes('x') })).toBe('already_fired');
    expect((await store.refreshLayout()).legacy).toBe(true);
    // Once the fired markers expired (Redis's clock), nothing is left to look up there.
    now += firedTtlMs * 3;
    await sleep(firedTtlMs * 2.5);
    expect((await store.refreshLayout()).legacy).toBe(false);
    expect(await store.schedule({ id: 'old-3', dueAt: now, record: bytes('x') })).toBe('scheduled');
    expect(await store.shard(store.shardOf('old-3')).known(['old-3'])).toEqual([true]);
    await unsharded.close();
  });
});
