import { randomBytes, randomUUID } from 'node:crypto';
import { isSchedulerError, type SchedulerError } from '@openpenpal/errors';
import { expect, vi } from 'vitest';
import type { EventData, EventStore, RecordedEvent, SubscribeOptions, Subscription } from '../src/index.ts';

/** What a conformance test gets from an adapter: a store on an isolated (or shared) backend. */
export interface ConformanceTarget {
  store: EventStore;
  /** Closes the store and whatever the factory opened for it. */
  close(): Promise<void>;
}

export type EventStoreFactory = () => Promise<ConformanceTarget>;

/**
 * A category no other test uses. EventStoreDB's `$all` is shared by every test on the server, so tests
 * keep to their own category (or filter by it) instead of relying on an empty store.
 */
export function uniqueCategory(): string {
  return `c${randomBytes(6).toString('hex')}`;
}

export function newEvents(count: number, first = 0, type = 'SomethingHappened'): EventData[] {
  return Array.from({ length: count }, (_, index) => ({
    id: randomUUID(),
    type,
    data: { n: first + index, nested: { tags: ['a', 'b'], ok: true } },
    metadata: { source: 'conformance', n: first + index },
  }));
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<SchedulerError> {
  const outcome = await promise.then(
    () => ({ rejected: false as const }),
    (error: unknown) => ({ rejected: true as const, error }),
  );
  if (!outcome.rejected) throw new Error('expected the promise to reject, it resolved');
  if (!isSchedulerError(outcome.error)) throw outcome.error;
  return outcome.error;
}

export function expectInPositionOrder(events: readonly RecordedEvent[]): void {
  for (let index = 1; index < events.length; index++) {
    expect(events[index]!.position).toBeGreaterThan(events[index - 1]!.position);
  }
}

/** Pages through readAll from `after` until `until` (a position) and keeps the events of one category. */
export async function readAllOfCategory(
  store: EventStore,
  category: string,
  after: bigint,
  until: bigint,
): Promise<RecordedEvent[]> {
  const kept: RecordedEvent[] = [];
  let checkpoint = after;
  for (;;) {
    const page = await store.readAll({ after: checkpoint, maxCount: 100 });
    for (const event of page) {
      if (event.streamId.startsWith(`${category}-`) && event.position <= until) kept.push(event);
    }
    const last = page.at(-1);
    if (last === undefined || last.position >= until) return kept;
    checkpoint = last.position;
  }
}

/** A subscription that collects what it receives. */
export interface Collector {
  subscription: Subscription;
  received: RecordedEvent[];
  /** Waits until an event with this id has been received. */
  waitFor(id: string): Promise<void>;
}

export function collect(store: EventStore, options: Omit<SubscribeOptions, 'handler'>): Collector {
  const received: RecordedEvent[] = [];
  const subscription = store.subscribe({
    ...options,
    handler: (event) => {
      received.push(event);
    },
  });
  return {
    subscription,
    received,
    waitFor: (id) =>
      vi.waitFor(
        () => {
          expect(received.map((event) => event.id)).toContain(id);
        },
        { timeout: 20_000, interval: 20 },
      ),
  };
}

export function ids(events: readonly { id: string }[]): string[] {
  return events.map((event) => event.id);
}
