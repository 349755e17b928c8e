import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { MAX_BATCH_REQUESTS, type StoreRequest } from '../src/store/index.ts';
import { bytes, createStoreContext, type StoreContext } from './support.ts';

const stack = inject('stack');
const VISIBILITY = 30_000;

describe('delay store batches', () => {
  let ctx: StoreContext;
  let t0: number;
  beforeEach(async () => {
    ctx = await createStoreContext(stack);
    t0 = ctx.clock.now();
  });
  afterEach(async () => {
    await ctx.close();
  });

  const schedule = (id: string, dueAt: number, text = id, ifPending?: 'keep' | 'replace'): StoreRequest => ({
    kind: 'schedule',
    item: { id, dueAt, record: bytes(text), ...(ifPending ? { ifPending } : {}) },
  });
  const cancel = (id: string): StoreRequest => ({ kind: 'cancel', id });

  it('applies the requests of one id in their order, so a schedule then a cancel ends cancelled', async () => {
    const results = await ctx.store.applyBatch([
      schedule('a', t0),
      cancel('a'),
      schedule('b', t0),
      schedule('b', t0 + 5, 'b2', 'replace'),
      cancel('c'),
      schedule('c', t0),
    ]);
    expect(results).toEqual([
      { kind: 'schedule', outcome: 'scheduled' },
      { kind: 'cancel', outcome: 'cancelled' },
      { kind: 'schedule', outcome: 'scheduled' },
      { kind: 'schedule', outcome: 'rescheduled' },
      { kind: 'cancel', outcome: 'not_found' },
      { kind: 'schedule', outcome: 'scheduled' },
    ]);
    ctx.clock.set(t0 + 10);
    const claimed = await ctx.store.claimDue({ limit: 10, visibilityMs: VISIBILITY });
    expect(claimed.map((item) => [item.id, item.dueAt, item.record.toString()])).toEqual([
      ['c', t0, 'c'],
      ['b', t0 + 5, 'b2'],
    ]);
  });

  it('refuses an invalid request on its own and applies the others', async () => {
    const results = await ctx.store.applyBatch([
      schedule('ok-1', t0 + 1000),
      schedule('', t0 + 1000),
      schedule('bad-due', 1.5),
      cancel('x'.repeat(300)),
      schedule('ok-2', t0 + 1000),
    ]);
    expect(results.map((result) => (result.kind === 'invalid' ? result.error.code : result.outcome))).toEqual(
      ['scheduled', 'VALIDATION_FAILED', 'VALIDATION_FAILED', 'VALIDATION_FAILED', 'scheduled'],
    );
    expect(await ctx.store.stats()).toEqual({ pending: 2, inFlight: 0 });
  });

  it('gives the same outcomes as one call per request when a batch is applied again', async () => {
    const batch = [schedule('a', t0 + 1000), schedule('b', t0 + 1000), cancel('b')];
    await ctx.store.applyBatch(batch);
    const again = await ctx.store.applyBatch(batch);
    expect(again.map((result) => (result.kind === 'invalid' ? result.error.code : result.outcome))).toEqual([
      'duplicate',
      'scheduled',
      'cancelled',
    ]);
    expect(await ctx.store.stats()).toEqual({ pending: 1, inFlight: 0 });
  });

  it('publishes one wake-up for a batch that moved the earliest due time earlier', async () => {
    const subscriber = await ctx.connection();
    const wakes: number[] = [];
    await ctx.store.subscribeWakeups(subscriber, (earliest) => wakes.push(earliest));
    await ctx.store.applyBatch([
      schedule('late', t0 + 9000),
      schedule('early', t0 + 100),
      schedule('mid', t0 + 500),
    ]);
    await ctx.store.applyBatch([schedule('later', t0 + 20_000)]);
    await ctx.store.schedule({ id: 'earliest', dueAt: t0 + 50, record: bytes('e') });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(wakes).toEqual([t0 + 100, t0 + 50]);
  });

  it('splits a batch longer than one script run takes and keeps every outcome in place', async () => {
    const count = MAX_BATCH_REQUESTS + 250;
    const batch = Array.from({ length: count }, (_, i) => schedule(`id-${i}`, t0 + i));
    batch.push(cancel('id-0'), cancel(`id-${count - 1}`));
    const results = await ctx.store.applyBatch(batch);
    expect(results).toHaveLength(count + 2);
    expect(
      results.slice(0, count).every((result) => 'outcome' in result && result.outcome === 'scheduled'),
    ).toBe(true);
    expect(results.slice(count)).toEqual([
      { kind: 'cancel', outcome: 'cancelled' },
      { kind: 'cancel', outcome: 'cancelled' },
    ]);
    expect(await ctx.store.stats()).toEqual({ pending: count - 2, inFlight: 0 });
  });
});
