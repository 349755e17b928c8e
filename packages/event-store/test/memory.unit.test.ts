import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createInMemoryEventStore } from '../src/index.ts';
import { eventStoreConformance } from './conformance.ts';
import { collect, ids, newEvents, rejection } from './conformance-helpers.ts';

describe('in-memory adapter', () => {
  describe('conformance', () => {
    eventStoreConformance(() => {
      const store = createInMemoryEventStore();
      return Promise.resolve({ store, close: () => store.close() });
    });
  });

  // Where the port lets adapters differ, the in-memory adapter does what PostgreSQL does.
  describe('specifics', () => {
    it('stores nothing of any request of appendMany when one of them conflicts', async () => {
      const store = createInMemoryEventStore();
      const [a, b] = [`x-${randomUUID()}`, `x-${randomUUID()}`];
      await store.append(b, newEvents(1));

      const error = await rejection(
        store.appendMany([
          { streamId: a, events: newEvents(2) },
          { streamId: b, events: newEvents(1), expectedRevision: 'no_stream' },
        ]),
      );

      expect(error.details).toMatchObject({ stream: b, expected: 'no_stream', actual: '0' });
      expect(await store.readStream(a)).toEqual([]);
      expect(await store.readAll()).toHaveLength(1);
    });

    it('refuses event ids stored in another stream, also when skipping stored ones', async () => {
      const store = createInMemoryEventStore();
      const [a, b] = [`x-${randomUUID()}`, `x-${randomUUID()}`];
      const stored = newEvents(1);
      await store.append(a, stored);

      const append = await rejection(store.append(b, stored));
      const skip = await rejection(
        store.appendMany([{ streamId: b, events: [...newEvents(1), stored[0]!], onStored: 'skip' }]),
      );

      for (const error of [append, skip]) {
        expect(error.code).toBe('CONFLICT');
        expect(error.details).toMatchObject({ stream: b, storedEventIds: ids(stored), storedInStreams: [a] });
      }
      expect(await store.readStream(b)).toEqual([]);
    });

    it('refuses a batch of stored ids in another order than stored, unless skipping stored ones', async () => {
      const store = createInMemoryEventStore();
      const stream = `x-${randomUUID()}`;
      const stored = newEvents(2);
      const original = await store.append(stream, stored);
      const reordered = [stored[1]!, stored[0]!];

      const error = await rejection(store.append(stream, reordered));
      const [skipped] = await store.appendMany([{ streamId: stream, events: reordered, onStored: 'skip' }]);

      expect(error).toMatchObject({ code: 'CONFLICT', details: { storedEventIds: ids(reordered) } });
      expect(skipped).toEqual({ ...original, appended: 0, skippedIds: ids(reordered) });
      expect(await store.readStream(stream)).toHaveLength(2);
    });

    it('stamps events with the injected clock and hands out copies readers may change', async () => {
      const at = Date.parse('2026-12-01T08:00:00Z');
      const store = createInMemoryEventStore({ clock: { now: () => at } });
      const stream = `x-${randomUUID()}`;
      const [event] = newEvents(1);
      await store.append(stream, [event!]);

      const [first] = await store.readStream(stream);
      (first!.data as Record<string, unknown>).n = 99;
      const [again] = await store.readStream(stream);

      expect(first!.createdAt).toEqual(new Date(at));
      expect(again!.data).toEqual(event!.data);
    });

    it('resumes a subscription after a position beyond the last event with the events stored later', async () => {
      const store = createInMemoryEventStore();
      const collector = collect(store, { after: 5n });
      await collector.subscription.caughtUp;
      const events = newEvents(7);
      for (const event of events) await store.append(`x-${randomUUID()}`, [event]);
      await collector.waitFor(events[6]!.id);

      expect(ids(collector.received)).toEqual(ids(events.slice(5)));
      await store.close();
    });
  });
});
