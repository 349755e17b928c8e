import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { DelayItem } from '../src/store/types.ts';
import { bytes, createStoreContext, type StoreContext } from './support.ts';

const stack = inject('stack');
const VISIBILITY = 30_000;

// Re-scheduling an id that is already known, state by state (lua/schedule.lua has the table).
describe('delay store re-schedule', () => {
  let ctx: StoreContext;
  let t0: number;
  beforeEach(async () => {
    ctx = await createStoreContext(stack);
    t0 = ctx.clock.now();
  });
  afterEach(async () => {
    await ctx.close();
  });

  const claimAt = async (time: number) => {
    ctx.clock.set(time);
    return ctx.store.claimDue({ limit: 100, visibilityMs: VISIBILITY });
  };
  const replace = (dueAt: number, record: string): Promise<string> =>
    ctx.store.schedule({ id: 'a', dueAt, record: bytes(record), ifPending: 'replace' });
  const keep = (dueAt: number, record: string): Promise<string> =>
    ctx.store.schedule({ id: 'a', dueAt, record: bytes(record) });
  /** Schedules `a` at t0 with record `old` and claims it, as a dispatcher about to publish does. */
  const inFlight = async (item: Partial<DelayItem> = {}) => {
    await ctx.store.schedule({ id: 'a', dueAt: t0, record: bytes('old'), ...item });
    const claims = await claimAt(t0);
    expect(claims.map((claim) => claim.id)).toEqual(['a']);
    return claims;
  };

  describe('an unknown, cancelled or fired id', () => {
    it('schedules an unknown id and one that was cancelled while pending, in either mode', async () => {
      expect(await replace(t0 + 10, 'first')).toBe('scheduled');
      expect(await ctx.store.cancel('a')).toBe('cancelled');
      expect(await replace(t0 + 20, 'again')).toBe('scheduled');
      const [claimed] = await claimAt(t0 + 20);
      expect(claimed).toMatchObject({ dueAt: t0 + 20, record: bytes('again'), generation: 0 });
    });

    it('never schedules a fired id again, even with replace', async () => {
      const claims = await inFlight();
      await ctx.store.ack(claims);
      expect(await replace(t0 + 60_000, 'new')).toBe('already_fired');
      expect(await keep(t0 + 60_000, 'new')).toBe('already_fired');
      expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 0 });
    });
  });

  describe('a pending id', () => {
    it('takes the new due time and record with replace, and says duplicate when nothing differs', async () => {
      await keep(t0 + 1000, 'old');
      expect(await replace(t0 + 5000, 'new')).toBe('rescheduled');
      expect(await replace(t0 + 5000, 'new')).toBe('duplicate');
      expect(await keep(t0 + 9000, 'other')).toBe('duplicate');
      expect(await claimAt(t0 + 4999)).toEqual([]);
      const [claimed] = await claimAt(t0 + 5000);
      expect(claimed).toMatchObject({ id: 'a', dueAt: t0 + 5000, record: bytes('new'), generation: 0 });
      expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 1 });
    });

    it('can move a pending item earlier and wakes dispatchers for it', async () => {
      await keep(t0 + 60_000, 'old');
      expect(await replace(t0 + 100, 'new')).toBe('rescheduled');
      expect(await ctx.store.nextDueAt()).toBe(t0 + 100);
    });

    it('gives a replacement of a released item the next generation: its failed publish may have landed', async () => {
      const claims = await inFlight();
      await ctx.store.release(claims);
      expect(await replace(t0 + 10, 'new')).toBe('rescheduled');
      const [claimed] = await claimAt(t0 + 10);
      expect(claimed).toMatchObject({ record: bytes('new'), attempts: 1, generation: 1 });
    });
  });

  describe('an id in flight', () => {
    it('leaves it alone without replace', async () => {
      const claims = await inFlight();
      expect(await keep(t0 + 5000, 'new')).toBe('in_flight');
      expect(await replace(t0, 'old')).toBe('in_flight');
      await ctx.store.ack(claims);
      expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 0 });
    });

    it('keeps a replacement behind the copy in flight, pending once that copy is acknowledged', async () => {
      const claims = await inFlight();
      expect(await replace(t0 + 5000, 'new')).toBe('rescheduled');
      expect(await ctx.store.stats()).toEqual({ pending: 1, inFlight: 1 });
      // Not claimable while the copy is in flight: one id never has two copies under way.
      expect(await claimAt(t0 + 5000)).toEqual([]);
      expect(await ctx.store.ack(claims)).toEqual({ acked: 1, stale: [] });
      expect(await ctx.store.nextDueAt()).toBe(t0 + 5000);
      const [claimed] = await claimAt(t0 + 5000);
      expect(claimed).toMatchObject({
        dueAt: t0 + 5000,
        record: bytes('new'),
        attempts: 1,
        redelivered: false,
        generation: 1,
      });
      await ctx.store.ack([claimed!]);
      expect(await replace(t0 + 9000, 'newer')).toBe('already_fired');
    });

    it('publishes only the replacement when the publish of the copy in flight fails', async () => {
      const claims = await inFlight();
      await replace(t0 + 10, 'new');
      expect(await ctx.store.release(claims)).toEqual({ released: 1, dropped: 0, stale: [] });
      const [claimed] = await claimAt(t0 + 10);
      expect(claimed).toMatchObject({ record: bytes('new'), attempts: 1, generation: 1 });
      expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 1 });
    });

    it('drops the copy of a crashed dispatcher instead of redelivering it, and the replacement goes out', async () => {
      await inFlight();
      await replace(t0 + 10, 'new');
      // The claim expired: the copy may or may not have gone out; the requester wants the new one.
      expect(await claimAt(t0 + VISIBILITY)).toEqual([]);
      const [claimed] = await claimAt(t0 + VISIBILITY);
      expect(claimed).toMatchObject({ dueAt: t0 + 10, record: bytes('new'), redelivered: false });
      expect(claimed?.generation).toBe(1);
    });

    it('replaces a waiting replacement with replace, and keeps it otherwise', async () => {
      const claims = await inFlight();
      await replace(t0 + 10, 'new');
      expect(await replace(t0 + 20, 'newer')).toBe('rescheduled');
      expect(await replace(t0 + 20, 'newer')).toBe('duplicate');
      expect(await keep(t0 + 30, 'other')).toBe('duplicate');
      await ctx.store.ack(claims);
      const [claimed] = await claimAt(t0 + 20);
      expect(claimed).toMatchObject({ dueAt: t0 + 20, record: bytes('newer'), generation: 1 });
    });

    it('cancels the waiting replacement together with the copy in flight', async () => {
      const claims = await inFlight();
      await replace(t0 + 10, 'new');
      expect(await ctx.store.cancel('a')).toBe('in_flight');
      expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 1 });
      expect(await ctx.store.ack(claims)).toEqual({ acked: 1, stale: [] });
      expect(await claimAt(t0 + 10)).toEqual([]);
      expect(await ctx.store.cancel('a')).toBe('already_fired');
    });

    it('schedules a replace behind a copy in flight that was cancelled, but not a keep', async () => {
      const claims = await inFlight();
      await ctx.store.cancel('a');
      // keep never changes an id in flight: a redelivered request must not revive a cancelled one.
      expect(await keep(t0 + 10, 'new')).toBe('in_flight');
      expect(await replace(t0, 'old')).toBe('in_flight');
      expect(await replace(t0 + 10, 'new')).toBe('scheduled');
      // The cancelled copy's publish failed: it is dropped, the new message stays.
      expect(await ctx.store.release(claims)).toEqual({ released: 1, dropped: 0, stale: [] });
      const [claimed] = await claimAt(t0 + 10);
      expect(claimed).toMatchObject({ record: bytes('new'), generation: 1 });
    });

    it('carries the generation on: a second replacement in flight takes the one after', async () => {
      let claims = await inFlight();
      await replace(t0 + 10, 'second');
      await ctx.store.ack(claims);
      claims = await claimAt(t0 + 10);
      expect(await replace(t0 + 20, 'third')).toBe('rescheduled');
      await ctx.store.ack(claims);
      const [claimed] = await claimAt(t0 + 20);
      expect(claimed).toMatchObject({ record: bytes('third'), generation: 2 });
    });
  });

  it('wakes sleeping dispatchers when an ack makes an earlier replacement pending', async () => {
    const subscriber = await ctx.connection();
    await ctx.store.schedule({ id: 'late', dueAt: t0 + 60_000, record: bytes('x') });
    const claims = await inFlight();
    await replace(t0 + 10, 'new');
    let onWake: (earliest: number) => void = () => undefined;
    const woken = new Promise<number>((resolve) => {
      onWake = resolve;
    });
    const subscription = await ctx.store.subscribeWakeups(subscriber, (earliest) => onWake(earliest));
    await ctx.store.ack(claims);
    // Before the ack the earliest wake-up was the claim's expiry (t0 + VISIBILITY).
    expect((await woken) - t0).toBe(10);
    await subscription.close();
  });
});
