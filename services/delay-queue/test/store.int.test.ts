import { SchedulerError } from '@openpenpal/errors';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createDelayStore } from '../src/store/index.ts';
import { bytes, createStoreContext, type StoreContext } from './support.ts';

const stack = inject('stack');
const VISIBILITY = 30_000;

describe('delay store', () => {
  let ctx: StoreContext;
  let t0: number;
  beforeEach(async () => {
    ctx = await createStoreContext(stack);
    t0 = ctx.clock.now();
  });
  afterEach(async () => {
    await ctx.close();
  });

  const claimAt = async (time: number, limit = 100) => {
    ctx.clock.set(time);
    return ctx.store.claimDue({ limit, visibilityMs: VISIBILITY });
  };

  describe('schedule', () => {
    it('keeps one copy of an id scheduled twice', async () => {
      const item = { id: 'a', dueAt: t0 + 1000, record: bytes('one') };
      expect(await ctx.store.schedule(item)).toBe('scheduled');
      expect(await ctx.store.schedule({ ...item, record: Buffer.from('one') })).toBe('duplicate');
      expect(await ctx.store.stats()).toEqual({ pending: 1, inFlight: 0 });
    });

    it('keeps a pending item when a request without replace brings another due time or record', async () => {
      await ctx.store.schedule({ id: 'a', dueAt: t0 + 1000, record: bytes('old') });
      expect(await ctx.store.schedule({ id: 'a', dueAt: t0 + 5000, record: bytes('new') })).toBe('duplicate');
      expect(
        await ctx.store.schedule({ id: 'a', dueAt: t0 + 5000, record: bytes('new'), ifPending: 'keep' }),
      ).toBe('duplicate');
      const [claimed] = await claimAt(t0 + 1000);
      expect(claimed).toMatchObject({ id: 'a', dueAt: t0 + 1000, record: bytes('old'), generation: 0 });
    });

    it('leaves an item in flight alone and never schedules a fired id again', async () => {
      const item = { id: 'a', dueAt: t0, record: bytes('x') };
      await ctx.store.schedule(item);
      const claims = await claimAt(t0);
      expect(await ctx.store.schedule({ ...item, dueAt: t0 + 60_000 })).toBe('in_flight');
      expect(await ctx.store.ack(claims)).toEqual({ acked: 1, stale: [] });
      expect(await ctx.store.schedule(item)).toBe('already_fired');
      expect(await ctx.store.schedule({ ...item, dueAt: t0 + 60_000 })).toBe('already_fired');
      expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 0 });
    });

    it('keeps record bytes exactly, newlines, separators and zero bytes included', async () => {
      const record = Buffer.from([0, 10, 124, 255, 10, 10, 0x7c, 0x31, 0x0a, 0xc3, 0x28, 0]);
      await ctx.store.schedule({ id: 'bin\nid|1', dueAt: t0, record });
      const [claimed] = await claimAt(t0);
      expect(claimed?.id).toBe('bin\nid|1');
      expect(claimed?.record.equals(record)).toBe(true);
    });

    it('rejects an item with a due time that is not an integer of milliseconds', async () => {
      for (const dueAt of [Number.NaN, 1.5, -1, Number.POSITIVE_INFINITY]) {
        await expect(ctx.store.schedule({ id: 'a', dueAt, record: bytes('x') })).rejects.toMatchObject({
          code: 'VALIDATION_FAILED',
        });
      }
      await expect(ctx.store.schedule({ id: '', dueAt: t0, record: bytes('x') })).rejects.toBeInstanceOf(
        SchedulerError,
      );
      expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 0 });
    });
  });

  describe('cancel', () => {
    it('removes a pending item so it never falls due', async () => {
      await ctx.store.schedule({ id: 'a', dueAt: t0 + 10, record: bytes('x') });
      expect(await ctx.store.cancel('a')).toBe('cancelled');
      expect(await claimAt(t0 + 1000)).toEqual([]);
      expect(await ctx.store.cancel('a')).toBe('not_found');
      expect(await ctx.store.schedule({ id: 'a', dueAt: t0 + 10, record: bytes('x') })).toBe('scheduled');
    });

    it('says not_found for an id it never saw and already_fired for one that fired', async () => {
      expect(await ctx.store.cancel('unknown')).toBe('not_found');
      await ctx.store.schedule({ id: 'a', dueAt: t0, record: bytes('x') });
      await ctx.store.ack(await claimAt(t0));
      expect(await ctx.store.cancel('a')).toBe('already_fired');
    });

    it('marks an item in flight so that a release drops it instead of putting it back', async () => {
      await ctx.store.schedule({ id: 'a', dueAt: t0, record: bytes('x') });
      const claims = await claimAt(t0);
      expect(await ctx.store.cancel('a')).toBe('in_flight');
      expect(await ctx.store.cancel('a')).toBe('in_flight');
      expect(await ctx.store.release(claims)).toEqual({ released: 0, dropped: 1, stale: [] });
      expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 0 });
      expect(await ctx.store.cancel('a')).toBe('not_found');
    });

    it('drops a cancelled item whose claim expired instead of claiming it again', async () => {
      await ctx.store.schedule({ id: 'a', dueAt: t0, record: bytes('x') });
      await claimAt(t0);
      await ctx.store.cancel('a');
      expect(await claimAt(t0 + VISIBILITY)).toEqual([]);
      expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 0 });
    });

    it('records a cancelled item in flight as fired when its publish is acknowledged', async () => {
      await ctx.store.schedule({ id: 'a', dueAt: t0, record: bytes('x') });
      const claims = await claimAt(t0);
      await ctx.store.cancel('a');
      expect(await ctx.store.ack(claims)).toEqual({ acked: 1, stale: [] });
      expect(await ctx.store.cancel('a')).toBe('already_fired');
    });
  });

  describe('claimDue', () => {
    it('returns only due items, earliest first, at most the limit', async () => {
      const offsets = [700, 100, 900, 300, 500, 5000, 200];
      for (const [index, offset] of offsets.entries()) {
        await ctx.store.schedule({ id: `i${index}`, dueAt: t0 + offset, record: bytes(`r${offset}`) });
      }
      const first = await claimAt(t0 + 1000, 4);
      expect(first.map((item) => item.dueAt - t0)).toEqual([100, 200, 300, 500]);
      expect(first.map((item) => item.record.toString())).toEqual(['r100', 'r200', 'r300', 'r500']);
      expect(first.every((item) => !item.redelivered && item.attempts === 1)).toBe(true);
      const second = await claimAt(t0 + 1000, 4);
      expect(second.map((item) => item.dueAt - t0)).toEqual([700, 900]);
      expect(await ctx.store.stats()).toEqual({ pending: 1, inFlight: 6 });
    });

    it('claims an item again once its claim expired, flagged as redelivered', async () => {
      await ctx.store.schedule({ id: 'a', dueAt: t0, record: bytes('x') });
      const [first] = await claimAt(t0);
      expect(await claimAt(t0 + VISIBILITY - 1)).toEqual([]);
      const [again] = await claimAt(t0 + VISIBILITY);
      expect(again).toMatchObject({ id: 'a', dueAt: t0, attempts: 2, redelivered: true });
      expect(again?.token).not.toBe(first?.token);
    });

    it('never hands one item to two claimers racing on two connections', async () => {
      const replica = await ctx.replica();
      const total = 3000;
      await Promise.all(
        Array.from({ length: total }, (_, index) =>
          ctx.store.schedule({ id: `m${index}`, dueAt: t0 + (index % 50), record: bytes(`r${index}`) }),
        ),
      );
      ctx.clock.set(t0 + 100);
      const seen: string[] = [];
      // Bounded, so a claim that fails to remove what it hands out ends the test instead of hanging it.
      while (seen.length <= total) {
        const rounds = await Promise.all(
          Array.from({ length: 40 }, (_, index) =>
            (index % 2 === 0 ? ctx.store : replica).claimDue({ limit: 25, visibilityMs: VISIBILITY }),
          ),
        );
        const claimed = rounds.flat();
        if (claimed.length === 0) break;
        seen.push(...claimed.map((item) => item.id));
      }
      expect(seen).toHaveLength(total);
      expect(new Set(seen).size).toBe(total);
      await replica.close();
    });
  });

  describe('ack and release', () => {
    it('ignores an ack whose claim expired and was taken by another dispatcher', async () => {
      await ctx.store.schedule({ id: 'a', dueAt: t0, record: bytes('x') });
      const slow = await claimAt(t0);
      const fresh = await claimAt(t0 + VISIBILITY);
      expect(await ctx.store.ack(slow)).toEqual({ acked: 0, stale: ['a'] });
      expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 1 });
      expect(await ctx.store.release(slow)).toEqual({ released: 0, dropped: 0, stale: ['a'] });
      expect(await ctx.store.ack(fresh)).toEqual({ acked: 1, stale: [] });
      expect(await ctx.store.ack(fresh)).toEqual({ acked: 0, stale: ['a'] });
      expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 0 });
    });

    it('puts released items back at their own due time', async () => {
      await ctx.store.schedule({ id: 'a', dueAt: t0 + 10, record: bytes('x') });
      const claims = await claimAt(t0 + 20);
      expect(await ctx.store.release(claims)).toEqual({ released: 1, dropped: 0, stale: [] });
      expect(await ctx.store.stats()).toEqual({ pending: 1, inFlight: 0 });
      expect(await ctx.store.nextDueAt()).toBe(t0 + 10);
      const [again] = await claimAt(t0 + 20);
      expect(again).toMatchObject({ id: 'a', dueAt: t0 + 10, attempts: 2, redelivered: false });
    });
  });

  describe('nextDueAt', () => {
    it('is the earliest due time or claim expiry, and null when empty', async () => {
      expect(await ctx.store.nextDueAt()).toBeNull();
      await ctx.store.schedule({ id: 'late', dueAt: t0 + 60_000, record: bytes('x') });
      await ctx.store.schedule({ id: 'soon', dueAt: t0 + 1000, record: bytes('x') });
      expect(await ctx.store.nextDueAt()).toBe(t0 + 1000);
      const claims = await claimAt(t0 + 1000);
      expect(await ctx.store.nextDueAt()).toBe(t0 + 1000 + VISIBILITY);
      await ctx.store.ack(claims);
      expect(await ctx.store.nextDueAt()).toBe(t0 + 60_000);
    });
  });

  describe('wake-ups', () => {
    it('publishes when a schedule or release moves the earliest wake-up earlier', async () => {
      const subscriber = await ctx.connection();
      const woken: number[] = [];
      let notify = (): void => undefined;
      const subscription = await ctx.store.subscribeWakeups(subscriber, (earliest) => {
        woken.push(earliest - t0);
        notify();
      });
      const wokenCount = (count: number) =>
        new Promise<void>((resolve) => {
          notify = () => {
            if (woken.length >= count) resolve();
          };
          notify();
        });

      await ctx.store.schedule({ id: 'a', dueAt: t0 + 1000, record: bytes('x') });
      await ctx.store.schedule({ id: 'b', dueAt: t0 + 2000, record: bytes('x') }); // later: silent
      await ctx.store.schedule({ id: 'c', dueAt: t0 + 500, record: bytes('x') });
      const claims = await claimAt(t0 + 1000); // a and c in flight until t0 + 31000, b pending
      await ctx.store.release(claims.filter((item) => item.id === 'c'));
      await wokenCount(3);
      // Pub/sub keeps the order of publishes, so a publish by the silent schedule would show here.
      expect(woken).toEqual([1000, 500, 500]);

      await subscription.close();
      await subscription.close();
      await ctx.store.schedule({ id: 'd', dueAt: t0, record: bytes('x') });
      expect(await subscriber.publish(ctx.store.keys.wakeChannel, '0')).toBe(0);
    });
  });

  describe('lifecycle and failures', () => {
    it('closes twice without closing a client it does not own, then refuses work', async () => {
      await ctx.store.close();
      await ctx.store.close();
      expect(await ctx.redis.redis.ping()).toBe('PONG');
      await expect(ctx.store.stats()).rejects.toMatchObject({ code: 'SHUTTING_DOWN', retryable: true });
    });

    it('closes a client it owns, once', async () => {
      const own = await ctx.connection();
      const store = createDelayStore({ redis: own, prefix: ctx.prefix, clock: ctx.clock, ownsRedis: true });
      await Promise.all([store.close(), store.close()]);
      await store.close();
      await expect(own.ping()).rejects.toThrow(/closed/i);
    });

    it('refuses to claim past a malformed item value without taking anything out of pending', async () => {
      await ctx.store.schedule({ id: 'a', dueAt: t0, record: bytes('x') });
      await ctx.store.schedule({ id: 'b', dueAt: t0 + 1, record: bytes('y') });
      await ctx.redis.redis.hset(ctx.store.keys.items, 'b', 'no header here');
      await expect(claimAt(t0 + 1)).rejects.toMatchObject({ code: 'INTERNAL', retryable: false });
      expect(await ctx.store.stats()).toEqual({ pending: 2, inFlight: 0 });
    });

    it('reports an unreachable Redis as a retryable DEPENDENCY_UNAVAILABLE', async () => {
      const offline = new Redis(stack.redisUrl, { lazyConnect: true, enableOfflineQueue: false });
      const store = createDelayStore({
        redis: offline,
        prefix: ctx.prefix,
        clock: ctx.clock,
        ownsRedis: true,
      });
      await expect(store.schedule({ id: 'a', dueAt: t0, record: bytes('x') })).rejects.toMatchObject({
        code: 'DEPENDENCY_UNAVAILABLE',
        retryable: true,
      });
      offline.disconnect();
    });
  });
});
