import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { bytes, createStoreContext, type StoreContext } from './support.ts';

const stack = inject('stack');
const VISIBILITY = 30_000;

describe('delay store item values', () => {
  let ctx: StoreContext;
  let t0: number;
  beforeEach(async () => {
    ctx = await createStoreContext(stack);
    t0 = ctx.clock.now();
  });
  afterEach(async () => {
    await ctx.close();
  });

  const rawValue = async (id: string): Promise<Buffer | null> =>
    ctx.redis.redis.hgetBuffer(ctx.store.keys.items, id);

  it('keeps a fresh pending item in six header bytes, so a 246-byte record stays in the 256-byte class', async () => {
    const record = Buffer.alloc(246, 0x41);
    await ctx.store.schedule({ id: 'typical', dueAt: t0 + 1000, record });
    const value = await rawValue('typical');
    expect(value?.length).toBe(252);
    expect(value?.[0]).toBeGreaterThanOrEqual(0x80);
    expect(value?.subarray(6).equals(record)).toBe(true);
    ctx.clock.set(t0 + 1000);
    const [claimed] = await ctx.store.claimDue({ limit: 10, visibilityMs: VISIBILITY });
    expect(claimed).toMatchObject({ id: 'typical', dueAt: t0 + 1000, attempts: 1, generation: 0 });
    expect(claimed?.record.equals(record)).toBe(true);
  });

  it('still reads items stored in the text form by earlier versions', async () => {
    const record = Buffer.from([0x80, 10, 0x7c, 0xff, 0]);
    const old = Buffer.concat([Buffer.from(`${t0 + 500}|0||0\n`), record]);
    await ctx.redis.redis.hset(ctx.store.keys.items, 'old', old);
    await ctx.redis.redis.zadd(ctx.store.keys.pending, t0 + 500, 'old');
    const replaced = Buffer.concat([Buffer.from(`${t0 + 600}|1||0|2\n`), record]);
    await ctx.redis.redis.hset(ctx.store.keys.items, 'old-gen', replaced);
    await ctx.redis.redis.zadd(ctx.store.keys.pending, t0 + 600, 'old-gen');
    expect(await ctx.store.schedule({ id: 'old', dueAt: t0 + 500, record })).toBe('duplicate');
    expect(await ctx.store.schedule({ id: 'old', dueAt: t0 + 700, record, ifPending: 'replace' })).toBe(
      'rescheduled',
    );
    ctx.clock.set(t0 + 700);
    const claimed = await ctx.store.claimDue({ limit: 10, visibilityMs: VISIBILITY });
    expect(claimed.map((item) => [item.id, item.dueAt, item.attempts, item.generation])).toEqual([
      ['old-gen', t0 + 600, 2, 2],
      ['old', t0 + 700, 1, 0],
    ]);
    expect(claimed.every((item) => item.record.equals(record))).toBe(true);
  });

  it('uses the text form once an item was claimed, and for due times beyond six bytes', async () => {
    const far = 2 ** 47 + 12_345;
    await ctx.store.schedule({ id: 'far', dueAt: far, record: bytes('far') });
    expect((await rawValue('far'))?.toString()).toBe(`${far}|0||0\nfar`);

    await ctx.store.schedule({ id: 'again', dueAt: t0, record: bytes('again') });
    const claims = await ctx.store.claimDue({ limit: 10, visibilityMs: VISIBILITY });
    await ctx.store.release(claims);
    expect((await rawValue('again'))?.toString()).toBe(`${t0}|1||0\nagain`);
    const [reclaimed] = await ctx.store.claimDue({ limit: 10, visibilityMs: VISIBILITY });
    expect(reclaimed).toMatchObject({ id: 'again', dueAt: t0, attempts: 2 });
    await ctx.store.ack(reclaimed ? [reclaimed] : []);
    ctx.clock.set(far);
    const [late] = await ctx.store.claimDue({ limit: 10, visibilityMs: VISIBILITY });
    expect(late).toMatchObject({ id: 'far', dueAt: far, attempts: 1 });
  });
});
