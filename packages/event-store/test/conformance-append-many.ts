import { describe, expect, it } from 'vitest';
import type { EventStore } from '../src/index.ts';
import { collect, expectInPositionOrder, ids, newEvents, rejection } from './conformance-helpers.ts';

interface AppendManyContext {
  store: EventStore;
  category: string;
  streamOf: () => string;
}

/** Multi-stream appends: what every adapter shares (PostgreSQL's atomicity is tested with its specifics). */
export function appendManyConformance(context: () => AppendManyContext): void {
  describe('appendMany', () => {
    it('appends to several streams in one call, continuing each stream and in request order', async () => {
      const { store, streamOf } = context();
      const [a, b, c] = [streamOf(), streamOf(), streamOf()];
      await store.append(b, newEvents(2));
      const batches = [newEvents(2), newEvents(3), newEvents(1)];

      const results = await store.appendMany([
        { streamId: a, events: batches[0]!, expectedRevision: 'no_stream' },
        { streamId: b, events: batches[1]!, expectedRevision: 1n },
        { streamId: c, events: batches[2]! },
      ]);

      expect(results.map((result) => result.nextExpectedRevision)).toEqual([1n, 4n, 0n]);
      expect(results.map((result) => result.appended)).toEqual([2, 3, 1]);
      expect(results.map((result) => result.skippedIds)).toEqual([[], [], []]);
      expect(results[0]!.position).toBeLessThan(results[1]!.position);
      expect(results[1]!.position).toBeLessThan(results[2]!.position);
      const storedB = await store.readStream(b);
      expect(ids(storedB.slice(2))).toEqual(ids(batches[1]!));
      expect(storedB.at(-1)!.position).toBe(results[1]!.position);
      expect(ids(await store.readStream(c))).toEqual(ids(batches[2]!));
    });

    it('skips the ids a stream already holds and appends the rest, in order', async () => {
      const { store, streamOf } = context();
      const stream = streamOf();
      const stored = newEvents(3);
      await store.append(stream, stored);
      const fresh = newEvents(2, 3);

      const [result] = await store.appendMany([
        { streamId: stream, events: [stored[1]!, fresh[0]!, stored[2]!, fresh[1]!], onStored: 'skip' },
      ]);

      expect(result).toMatchObject({ nextExpectedRevision: 4n, appended: 2 });
      expect(result!.skippedIds).toEqual([stored[1]!.id, stored[2]!.id]);
      const all = await store.readStream(stream);
      expect(ids(all)).toEqual([...ids(stored), ...ids(fresh)]);
      expect(all[4]!.position).toBe(result!.position);
    });

    it('stores nothing for a request whose events are all stored and answers with the stored ones', async () => {
      const { store, streamOf } = context();
      const [replayed, skipped, other] = [streamOf(), streamOf(), streamOf()];
      const first = await store.append(replayed, newEvents(2));
      const batch = newEvents(2);
      const original = await store.append(replayed, batch);
      const skippedBatch = newEvents(3);
      const skippedOriginal = await store.append(skipped, skippedBatch);
      const fresh = newEvents(1);

      const results = await store.appendMany([
        { streamId: replayed, events: batch, expectedRevision: 'no_stream' },
        { streamId: skipped, events: [skippedBatch[2]!, skippedBatch[0]!], onStored: 'skip' },
        { streamId: other, events: fresh },
      ]);

      expect(results[0]).toEqual({ ...original, appended: 0, skippedIds: ids(batch) });
      expect(results[1]).toEqual({
        ...skippedOriginal,
        appended: 0,
        skippedIds: [skippedBatch[2]!.id, skippedBatch[0]!.id],
      });
      expect(results[2]!.appended).toBe(1);
      expect(first.nextExpectedRevision).toBe(1n);
      expect(await store.readStream(replayed)).toHaveLength(4);
      expect(await store.readStream(skipped)).toHaveLength(3);
    });

    it('refuses a mix of stored and new ids without skip, and a conflicting expected revision, naming the stream', async () => {
      const { store, streamOf } = context();
      const [mixed, stale] = [streamOf(), streamOf()];
      const stored = newEvents(2);
      await store.append(mixed, stored);
      await store.append(stale, newEvents(2));

      const mix = await rejection(
        store.appendMany([{ streamId: mixed, events: [stored[1]!, ...newEvents(1)] }]),
      );
      const conflict = await rejection(
        store.appendMany([{ streamId: stale, events: newEvents(1), expectedRevision: 0n, onStored: 'skip' }]),
      );

      expect(mix.code).toBe('CONFLICT');
      expect(mix.details).toMatchObject({ stream: mixed, storedEventIds: [stored[1]!.id] });
      expect(conflict.code).toBe('CONFLICT');
      expect(conflict.details).toMatchObject({ stream: stale, expected: '0', actual: '1' });
      expect(await store.readStream(mixed)).toHaveLength(2);
      expect(await store.readStream(stale)).toHaveLength(2);
    });

    it('refuses malformed calls before sending anything', async () => {
      const { store, streamOf } = context();
      const stream = streamOf();
      const [event] = newEvents(1);
      const bad = [
        [],
        [
          { streamId: stream, events: newEvents(1) },
          { streamId: stream, events: newEvents(1) },
        ],
        [
          { streamId: stream, events: [event!] },
          { streamId: streamOf(), events: [event!] },
        ],
        [{ streamId: stream, events: [] }],
        [{ streamId: '$all', events: newEvents(1) }],
      ];
      for (const requests of bad) {
        expect((await rejection(store.appendMany(requests))).code).toBe('VALIDATION_FAILED');
      }
      expect(await store.readStream(stream)).toEqual([]);
    });

    it('delivers multi-stream appends to a subscription in position order', async () => {
      const { store, category, streamOf } = context();
      const collector = collect(store, { category });
      await collector.subscription.caughtUp;
      const [a, b] = [streamOf(), streamOf()];
      const [first, second] = [newEvents(2), newEvents(2)];
      await store.appendMany([
        { streamId: a, events: first },
        { streamId: b, events: second },
      ]);
      await collector.waitFor(second[1]!.id);
      expect(ids(collector.received)).toEqual([...ids(first), ...ids(second)]);
      expectInPositionOrder(collector.received);
      await collector.subscription.close();
    });
  });
}
