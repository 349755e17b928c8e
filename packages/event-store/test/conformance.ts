import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventData, EventStore } from '../src/index.ts';
import {
  expectInPositionOrder,
  ids,
  newEvents,
  readAllOfCategory,
  rejection,
  uniqueCategory,
  type ConformanceTarget,
  type EventStoreFactory,
} from './conformance-helpers.ts';
import { appendManyConformance } from './conformance-append-many.ts';
import { subscriptionConformance } from './conformance-subscriptions.ts';

export type { EventStoreFactory } from './conformance-helpers.ts';

/**
 * The behaviour every event store adapter must show. Each adapter's test file calls this inside its own
 * describe block with a factory that returns a fresh store for every test.
 */
export function eventStoreConformance(factory: EventStoreFactory): void {
  let target: ConformanceTarget;
  let store: EventStore;
  let category: string;
  const streamOf = (): string => `${category}-${randomUUID()}`;

  beforeEach(async () => {
    target = await factory();
    store = target.store;
    category = uniqueCategory();
  });
  afterEach(async () => {
    await target.close();
  });

  describe('append and concurrency', () => {
    it('appends to a new stream and reads the events back with revisions from 0', async () => {
      const stream = streamOf();
      const events = newEvents(3);
      const result = await store.append(stream, events, { expectedRevision: 'no_stream' });
      const read = await store.readStream(stream);

      expect(result.nextExpectedRevision).toBe(2n);
      expect(read.map((event) => event.revision)).toEqual([0n, 1n, 2n]);
      expect(result.position).toBe(read[2]!.position);
      expectInPositionOrder(read);
      read.forEach((event, index) => {
        const written = events[index]!;
        expect(event).toMatchObject({ id: written.id, type: written.type, streamId: stream });
        expect(event.data).toEqual(written.data);
        expect(event.metadata).toEqual(written.metadata);
        expect(event.createdAt).toBeInstanceOf(Date);
      });
    });

    it('refuses an append whose expected revision does not hold, naming the stream and both revisions', async () => {
      const stream = streamOf();
      await store.append(stream, newEvents(2), { expectedRevision: 'no_stream' });

      const exists = await rejection(store.append(stream, newEvents(1), { expectedRevision: 'no_stream' }));
      const stale = await rejection(store.append(stream, newEvents(1), { expectedRevision: 0n }));
      const missing = await rejection(
        store.append(streamOf(), newEvents(1), { expectedRevision: 'stream_exists' }),
      );

      expect(exists.code).toBe('CONFLICT');
      expect(exists.details).toMatchObject({ stream, expected: 'no_stream', actual: '1' });
      expect(stale.details).toMatchObject({ stream, expected: '0', actual: '1' });
      expect(missing.code).toBe('CONFLICT');
      expect(missing.details).toMatchObject({ expected: 'stream_exists', actual: 'no_stream' });
      await store.append(stream, newEvents(1), { expectedRevision: 1n });
      await store.append(stream, newEvents(1), { expectedRevision: 'stream_exists' });
      await store.append(stream, newEvents(1));
      expect((await store.readStream(stream)).map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n, 4n]);
    });

    it('lets exactly one of two concurrent appends with the same expected revision win', async () => {
      for (let round = 0; round < 10; round++) {
        const stream = streamOf();
        const [first, second] = [newEvents(1), newEvents(1)];
        const creations = await Promise.allSettled([
          store.append(stream, first, { expectedRevision: 'no_stream' }),
          store.append(stream, second, { expectedRevision: 'no_stream' }),
        ]);
        const updates = await Promise.allSettled([
          store.append(stream, newEvents(1), { expectedRevision: 0n }),
          store.append(stream, newEvents(2), { expectedRevision: 0n }),
        ]);
        for (const outcomes of [creations, updates]) {
          expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
          const lost = outcomes.find((outcome) => outcome.status === 'rejected');
          expect(lost?.reason).toMatchObject({ code: 'CONFLICT', details: { stream } });
        }
        const stored = await store.readStream(stream);
        expect(stored.length === 2 || stored.length === 3).toBe(true);
        expect(stored.map((event) => event.revision)).toEqual(stored.map((_, index) => BigInt(index)));
      }
    });

    it('stores a re-appended batch once and returns the original result', async () => {
      const stream = streamOf();
      const batch = newEvents(3);
      const original = await store.append(stream, batch, { expectedRevision: 'no_stream' });

      expect(await store.append(stream, batch, { expectedRevision: 'no_stream' })).toEqual(original);
      expect(await store.append(stream, batch)).toEqual(original);
      const next = await store.append(stream, newEvents(2), {
        expectedRevision: original.nextExpectedRevision,
      });
      // A message redelivered after later events were recorded is still recognised.
      expect(await store.append(stream, batch, { expectedRevision: 'no_stream' })).toEqual(original);

      const stored = await store.readStream(stream);
      expect(stored).toHaveLength(5);
      expect(ids(stored.slice(0, 3))).toEqual(ids(batch));
      expect(stored[4]!.position).toBe(next.position);
    });

    it('refuses malformed appends and reads as validation failures', async () => {
      const stream = streamOf();
      const good = newEvents(1)[0]!;
      const bad: Array<[string, EventData[]]> = [
        [stream, []],
        [stream, [{ ...good, id: 'not-a-uuid' }]],
        [stream, [good, { ...good }]],
        [stream, [{ ...good, type: '' }]],
        [stream, [{ ...good, data: [1, 2] as unknown as EventData['data'] }]],
        ['$system', [good]],
        ['', [good]],
      ];
      for (const [streamId, events] of bad) {
        expect((await rejection(store.append(streamId, events))).code).toBe('VALIDATION_FAILED');
      }
      expect((await rejection(store.readCategory(`${category}-x`))).code).toBe('VALIDATION_FAILED');
      expect((await rejection(store.readStream(stream, { maxCount: 0 }))).code).toBe('VALIDATION_FAILED');
      expect(await store.readStream(stream)).toEqual([]);
    });
  });

  describe('reading streams', () => {
    it('reads a stream forwards and backwards from a revision with a maximum count', async () => {
      const stream = streamOf();
      await store.append(stream, newEvents(10), { expectedRevision: 'no_stream' });
      const revisions = async (options: Parameters<EventStore['readStream']>[1]): Promise<number[]> =>
        (await store.readStream(stream, options)).map((event) => Number(event.revision));

      expect(await revisions({})).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(await revisions({ fromRevision: 3n, maxCount: 4 })).toEqual([3, 4, 5, 6]);
      expect(await revisions({ direction: 'backwards' })).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      expect(await revisions({ direction: 'backwards', fromRevision: 5n, maxCount: 3 })).toEqual([5, 4, 3]);
      expect(await revisions({ direction: 'backwards', maxCount: 2 })).toEqual([9, 8]);
      expect(await revisions({ fromRevision: 20n })).toEqual([]);
    });

    it('reads a stream that does not exist as empty, in both directions', async () => {
      const stream = streamOf();
      expect(await store.readStream(stream)).toEqual([]);
      expect(await store.readStream(stream, { direction: 'backwards' })).toEqual([]);
    });

    it('appends 10,000 events in batches and reads them back complete and in order', async () => {
      const stream = streamOf();
      let expected: bigint | 'no_stream' = 'no_stream';
      for (let first = 0; first < 10_000; first += 500) {
        const result = await store.append(stream, newEvents(500, first), { expectedRevision: expected });
        expected = result.nextExpectedRevision;
      }
      expect(expected).toBe(9_999n);

      const all = await store.readStream(stream);
      expect(all).toHaveLength(10_000);
      all.forEach((event, index) => {
        expect(event.revision).toBe(BigInt(index));
        expect(event.data.n).toBe(index);
      });
      expectInPositionOrder(all);
      const tail = await store.readStream(stream, { direction: 'backwards', maxCount: 3 });
      expect(tail.map((event) => event.revision)).toEqual([9_999n, 9_998n, 9_997n]);
      const middle = await store.readStream(stream, { fromRevision: 5_000n, maxCount: 250 });
      expect(middle.map((event) => event.data.n)).toEqual(Array.from({ length: 250 }, (_, i) => 5_000 + i));
    });
  });

  describe('reading all streams and categories', () => {
    it('reads all events after a position in global order, a page at a time', async () => {
      const [a, b] = [streamOf(), streamOf()];
      const first = await store.append(a, newEvents(1, 0));
      const written = [
        ...newEvents(1, 1).map((event) => ({ stream: b, event })),
        ...newEvents(1, 2).map((event) => ({ stream: a, event })),
        ...newEvents(1, 3).map((event) => ({ stream: b, event })),
      ];
      let last = first.position;
      for (const { stream, event } of written) last = (await store.append(stream, [event])).position;

      const after = await readAllOfCategory(store, category, first.position, last);
      expect(ids(after)).toEqual(ids(written.map(({ event }) => event)));
      expect(after.map((event) => event.streamId)).toEqual([b, a, b]);
      expectInPositionOrder(after);
      const page = await store.readAll({ after: first.position, maxCount: 2 });
      expect(page).toHaveLength(2);
      expect(page[0]!.position).toBeGreaterThan(first.position);
      expectInPositionOrder(page);
    });

    it('reads the events of one category after a position, leaving out a category it prefixes', async () => {
      const mine = [streamOf(), streamOf()];
      const other = `${category}b-${randomUUID()}`;
      const appended = [];
      for (const stream of [mine[0]!, other, mine[1]!, other, mine[0]!]) {
        const [event] = newEvents(1);
        const result = await store.append(stream, [event!]);
        appended.push({ stream, id: event!.id, position: result.position });
      }
      const expected = appended.filter(({ stream }) => stream !== other);

      const all = await store.readCategory(category);
      expect(ids(all)).toEqual(ids(expected));
      expectInPositionOrder(all);
      expect(ids(await store.readCategory(category, { after: expected[0]!.position }))).toEqual(
        ids(expected.slice(1)),
      );
      expect(ids(await store.readCategory(category, { maxCount: 2 }))).toEqual(ids(expected.slice(0, 2)));
      expect(ids(await store.readCategory(`${category}b`))).toEqual([appended[1]!.id, appended[3]!.id]);
    });
  });

  appendManyConformance(() => ({ store, category, streamOf }));
  subscriptionConformance(() => ({ store, category, streamOf }));
}
