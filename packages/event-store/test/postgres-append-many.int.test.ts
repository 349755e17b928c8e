import { randomUUID } from 'node:crypto';
import { createPgTestContext, type PgTestContext } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createPostgresEventStore, type PostgresEventStore } from '../src/index.ts';
import { ids, newEvents, rejection } from './conformance-helpers.ts';

const stack = inject('stack');

describe('PostgreSQL adapter: appendMany specifics', () => {
  let ctx: PgTestContext;
  let store: PostgresEventStore;
  beforeEach(async () => {
    ctx = await createPgTestContext(stack);
    store = createPostgresEventStore({ pool: ctx.pool, schema: ctx.schema });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    await ctx.close();
  });

  it('stores nothing of any request when one of them conflicts', async () => {
    const [a, b] = [`x-${randomUUID()}`, `x-${randomUUID()}`];
    await store.append(b, newEvents(1));

    const error = await rejection(
      store.appendMany([
        { streamId: a, events: newEvents(2) },
        { streamId: b, events: newEvents(1), expectedRevision: 'no_stream' },
      ]),
    );

    expect(error.code).toBe('CONFLICT');
    expect(error.details).toMatchObject({ stream: b, expected: 'no_stream', actual: '0' });
    expect(await store.readStream(a)).toEqual([]);
    expect(await store.readStream(b)).toHaveLength(1);
  });

  it('refuses ids stored in another stream even when skipping stored ones', async () => {
    const [a, b] = [`x-${randomUUID()}`, `x-${randomUUID()}`];
    const stored = newEvents(1);
    await store.append(a, stored);

    const error = await rejection(
      store.appendMany([{ streamId: b, events: [...newEvents(1), stored[0]!], onStored: 'skip' }]),
    );

    expect(error.code).toBe('CONFLICT');
    expect(error.details).toMatchObject({ stream: b, storedEventIds: [stored[0]!.id], storedInStreams: [a] });
    expect(await store.readStream(b)).toEqual([]);
  });

  it('runs concurrent calls over overlapping streams without deadlock, each stream staying dense', async () => {
    const streams = Array.from({ length: 12 }, () => `x-${randomUUID()}`);
    // Each call names the streams in another order: locks taken in call order would deadlock.
    const calls = Array.from({ length: 16 }, (_, call) =>
      store.appendMany(
        [...streams]
          .sort(() => (call % 2 === 0 ? 1 : -1))
          .map((streamId, index) => ({ streamId, events: newEvents(1 + ((call + index) % 3)) })),
      ),
    );
    const results = await Promise.all(calls);

    for (const stream of streams) {
      const events = await store.readStream(stream);
      expect(events.map((event) => event.revision)).toEqual(events.map((_, index) => BigInt(index)));
    }
    const appended = results.flat().reduce((sum, result) => sum + result.appended, 0);
    const total = (await store.readAll({ maxCount: 10_000 })).length;
    expect(total).toBe(appended);
  });

  it('records a whole batch of a thousand events over hundreds of streams in one call', async () => {
    const requests = Array.from({ length: 250 }, (_, stream) => ({
      streamId: `x-${stream}-${randomUUID()}`,
      events: newEvents(4, stream * 4),
      onStored: 'skip' as const,
    }));
    const results = await store.appendMany(requests);
    const again = await store.appendMany(requests);

    expect(results.every((result) => result.appended === 4)).toBe(true);
    expect(again.every((result) => result.appended === 0 && result.skippedIds.length === 4)).toBe(true);
    expect(again.map((result) => result.position)).toEqual(results.map((result) => result.position));
    const all = await store.readAll({ maxCount: 2_000 });
    expect(ids(all)).toEqual(requests.flatMap((request) => ids(request.events)));
  });
});
