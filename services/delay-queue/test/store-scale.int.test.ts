import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { FIRED_BUCKETS } from '../src/store/index.ts';
import { bytes, createStoreContext, scanKeys, type StoreContext } from './support.ts';

const stack = inject('stack');

describe('delay store fired markers', () => {
  const ttl = 7_000;
  let ctx: StoreContext;
  beforeEach(async () => {
    ctx = await createStoreContext(stack, { firedTtlMs: ttl });
  });
  afterEach(async () => {
    await ctx.close();
  });

  it('forgets a fired id once the marker TTL has passed, and lets Redis expire the bucket', async () => {
    const t0 = ctx.clock.now();
    await ctx.store.schedule({ id: 'a', dueAt: t0, record: bytes('x') });
    await ctx.store.ack(await ctx.store.claimDue({ limit: 1, visibilityMs: 1000 }));
    const [bucket, ...others] = await scanKeys(
      ctx.redis.redis,
      `${ctx.store.keys.pattern.slice(0, -1)}fired:*`,
    );
    expect(others).toEqual([]);
    expect(await ctx.redis.redis.smembers(bucket!)).toEqual(['a']);
    const pttl = await ctx.redis.redis.pttl(bucket!);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(ttl + ttl / FIRED_BUCKETS);

    ctx.clock.advance(ttl - 1);
    expect(await ctx.store.schedule({ id: 'a', dueAt: t0, record: bytes('x') })).toBe('already_fired');
    ctx.clock.advance(2 * (ttl / FIRED_BUCKETS));
    expect(await ctx.store.cancel('a')).toBe('not_found');
    expect(await ctx.store.schedule({ id: 'a', dueAt: t0, record: bytes('x') })).toBe('scheduled');
  });
});

describe('delay store at scale', () => {
  let ctx: StoreContext;
  beforeEach(async () => {
    ctx = await createStoreContext(stack);
  });
  afterEach(async () => {
    await ctx.close();
  });

  it('schedules, claims and acks 100,000 items and leaves nothing but fired markers', async () => {
    const total = 100_000;
    const t0 = ctx.clock.now();
    const payload = randomBytes(200);
    for (let start = 0; start < total; start += 5000) {
      const outcomes = await Promise.all(
        Array.from({ length: 5000 }, (_, offset) => {
          const index = start + offset;
          return ctx.store.schedule({ id: `msg-${index}`, dueAt: t0 + (index % 10_000), record: payload });
        }),
      );
      expect(outcomes.every((outcome) => outcome === 'scheduled')).toBe(true);
    }
    expect(await ctx.store.stats()).toEqual({ pending: total, inFlight: 0 });

    ctx.clock.set(t0 + 10_000);
    const seen = new Set<string>();
    let previousDue = 0;
    for (let round = 0; round <= total / 1000; round += 1) {
      const claimed = await ctx.store.claimDue({ limit: 1000, visibilityMs: 60_000 });
      if (claimed.length === 0) break;
      for (const item of claimed) {
        expect(item.dueAt).toBeGreaterThanOrEqual(previousDue);
        previousDue = item.dueAt;
        seen.add(item.id);
      }
      expect((await ctx.store.ack(claimed)).acked).toBe(claimed.length);
    }
    expect(seen.size).toBe(total);
    expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 0 });
    expect(await ctx.store.nextDueAt()).toBeNull();

    const left = await scanKeys(ctx.redis.redis, ctx.store.keys.pattern);
    expect(left.length).toBeGreaterThan(0);
    let markers = 0;
    for (const key of left) {
      expect(key).toMatch(/:fired:\d+:\d+$/);
      expect(await ctx.redis.redis.pttl(key)).toBeGreaterThan(0);
      markers += await ctx.redis.redis.scard(key);
    }
    expect(markers).toBe(total);
  });
});
