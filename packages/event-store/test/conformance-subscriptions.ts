import { describe, expect, it } from 'vitest';
import type { EventStore, RecordedEvent } from '../src/index.ts';
import { collect, expectInPositionOrder, ids, newEvents, rejection } from './conformance-helpers.ts';

interface SubscriptionContext {
  store: EventStore;
  category: string;
  streamOf: () => string;
}

/** Catch-up subscriptions: history, then live events, in order and exactly once. */
export function subscriptionConformance(context: () => SubscriptionContext): void {
  describe('subscriptions', () => {
    it('delivers stored events, then live ones, in order and exactly once', async () => {
      const { store, category, streamOf } = context();
      const [a, b] = [streamOf(), streamOf()];
      const history = newEvents(6);
      for (const [index, event] of history.entries()) await store.append(index % 2 ? b : a, [event]);

      const collector = collect(store, { category });
      await collector.subscription.caughtUp;
      expect(ids(collector.received)).toEqual(ids(history));

      const live = newEvents(6, 6);
      for (const [index, event] of live.entries()) await store.append(index % 2 ? a : b, [event]);
      const [sentinel] = newEvents(1, 99, 'Sentinel');
      await store.append(a, [sentinel!]);
      await collector.waitFor(sentinel!.id);

      // Anything delivered twice would have arrived before the sentinel.
      expect(ids(collector.received)).toEqual([...ids(history), ...ids(live), sentinel!.id]);
      expectInPositionOrder(collector.received);
      await collector.subscription.close();
    });

    it('delivers every event of many concurrent writers once, in position order', async () => {
      const { store, category, streamOf } = context();
      const collector = collect(store, { category });
      await collector.subscription.caughtUp;
      const streams = Array.from({ length: 8 }, () => streamOf());
      const written = await Promise.all(
        streams.map(async (stream) => {
          const events = newEvents(25);
          for (const event of events) await store.append(stream, [event]);
          return events;
        }),
      );
      const [sentinel] = newEvents(1, 0, 'Sentinel');
      await store.append(streams[0]!, [sentinel!]);
      await collector.waitFor(sentinel!.id);

      const received = collector.received;
      expect(received).toHaveLength(8 * 25 + 1);
      expect(new Set(ids(received)).size).toBe(received.length);
      expect(new Set(ids(received))).toEqual(
        new Set([...written.flat().map((event) => event.id), sentinel!.id]),
      );
      expectInPositionOrder(received);
      for (const stream of streams) {
        const revisions = received
          .filter((event) => event.streamId === stream)
          .map((event) => event.revision);
        expect(revisions).toEqual(revisions.map((_, index) => BigInt(index)));
      }
      await collector.subscription.close();
    });

    it('resumes from a checkpoint without repeating the events before it', async () => {
      const { store, category, streamOf } = context();
      const stream = streamOf();
      const before = newEvents(3);
      for (const event of before) await store.append(stream, [event]);
      const first = collect(store, { category });
      await first.waitFor(before[2]!.id);
      const checkpoint = first.received.at(-1)!.position;
      await first.subscription.close();

      const after = newEvents(2, 3);
      await store.append(stream, after);
      const resumed = collect(store, { category, after: checkpoint });
      await resumed.subscription.caughtUp;
      const [sentinel] = newEvents(1, 9, 'Sentinel');
      await store.append(streamOf(), [sentinel!]);
      await resumed.waitFor(sentinel!.id);

      expect(ids(first.received)).toEqual(ids(before));
      expect(ids(resumed.received)).toEqual([...ids(after), sentinel!.id]);
      await resumed.subscription.close();
    });

    it('resumes a subscription to all streams from the position of an event', async () => {
      const { store, category, streamOf } = context();
      const events = newEvents(3);
      const positions: bigint[] = [];
      for (const event of events) positions.push((await store.append(streamOf(), [event])).position);

      const collector = collect(store, { after: positions[0]! });
      const [live] = newEvents(1, 3);
      await store.append(streamOf(), [live!]);
      await collector.waitFor(live!.id);

      // Other tests may share the server (EventStoreDB): only this test's category is compared.
      const mine = collector.received.filter((event) => event.streamId.startsWith(`${category}-`));
      expect(ids(mine)).toEqual([events[1]!.id, events[2]!.id, live!.id]);
      expect(collector.received.every((event) => event.position > positions[0]!)).toBe(true);
      expectInPositionOrder(collector.received);
      await collector.subscription.close();
    });

    it('stops at a handler failure and reports it through done', async () => {
      const { store, category, streamOf } = context();
      const stream = streamOf();
      await store.append(stream, newEvents(3));
      const handled: RecordedEvent[] = [];
      const failure = new Error('handler failed on purpose');
      const subscription = store.subscribe({
        category,
        handler: (event) => {
          handled.push(event);
          if (handled.length === 2) throw failure;
        },
      });

      await expect(subscription.done).rejects.toBe(failure);
      await expect(subscription.caughtUp).rejects.toBe(failure);
      expect(handled.map((event) => event.revision)).toEqual([0n, 1n]);
      await subscription.close();
    });

    it('closes subscriptions and the store safely twice, and refuses work once closed', async () => {
      const { store, category, streamOf } = context();
      await store.append(streamOf(), newEvents(1));
      const collector = collect(store, { category });
      await collector.subscription.caughtUp;
      await Promise.all([collector.subscription.close(), collector.subscription.close()]);
      await collector.subscription.close();
      await expect(collector.subscription.done).resolves.toBeUndefined();

      const open = collect(store, { category });
      await Promise.all([store.close(), store.close()]);
      await store.close();
      await expect(open.subscription.done).resolves.toBeUndefined();
      expect((await rejection(store.append(streamOf(), newEvents(1)))).code).toBe('SHUTTING_DOWN');
      expect(() => store.subscribe({ category, handler: () => undefined })).toThrow(/closed/);
    });
  });
}
