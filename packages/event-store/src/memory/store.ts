import { SchedulerError } from '@openpenpal/errors';
import { systemClock, type Clock } from '@openpenpal/timing';
import { normalizeRequests } from '../append-many.ts';
import {
  DEFAULT_READ_ALL_COUNT,
  type EventStore,
  type RecordedEvent,
  type SubscribeOptions,
} from '../port.ts';
import { createSubscriptionRegistry, runSubscription } from '../subscription-control.ts';
import {
  assertCategory,
  assertCount,
  assertExpectedRevision,
  assertRevision,
  assertStreamId,
  categoryOf,
  normalizeEvents,
} from '../validation.ts';
import { appendToLog, copyEvent, createMemoryLog } from './log.ts';

export interface InMemoryEventStoreOptions {
  /** Stamps `createdAt`; default the system clock. */
  clock?: Pick<Clock, 'now'>;
}

function closedError(): SchedulerError {
  return new SchedulerError('SHUTTING_DOWN', 'the event store is closed');
}

/** Runs synchronous work as the port's promise: a throw becomes a rejection, as with the other adapters. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(work());
  });
}

/**
 * The event store in one process's memory, for unit tests and tools that need no database: it passes
 * the same conformance suite as the PostgreSQL adapter. Nothing survives the process, and positions
 * are dense (1, 2, 3 …), which the port allows but does not promise.
 */
export function createInMemoryEventStore(options: InMemoryEventStoreOptions = {}): EventStore {
  const clock = options.clock ?? systemClock;
  const log = createMemoryLog();
  const subscriptions = createSubscriptionRegistry();
  // Subscriptions waiting for the next append.
  const waiting = new Set<() => void>();
  let closing: Promise<void> | undefined;
  const assertOpen = (): void => {
    if (closing) throw closedError();
  };
  const appended = (): void => {
    for (const wake of waiting) wake();
    waiting.clear();
  };
  const nextAppend = (signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      const wake = (): void => {
        waiting.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      waiting.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });

  const readAfter = (after: bigint, maxCount: number, category?: string): RecordedEvent[] => {
    const found: RecordedEvent[] = [];
    // Position p sits at index p - 1.
    for (let index = Number(after); index < log.events.length && found.length < maxCount; index++) {
      const event = log.events[index];
      if (event !== undefined && (category === undefined || categoryOf(event.streamId) === category)) {
        found.push(copyEvent(event));
      }
    }
    return found;
  };

  const subscribe = ({ after, category, handler }: SubscribeOptions) =>
    runSubscription(async (control) => {
      // Everything stored when the subscription started: handled once the loop has passed it.
      const startLength = log.events.length;
      let index = Number(after ?? 0n);
      for (;;) {
        if (index >= startLength) control.caughtUp();
        if (control.stopped()) return;
        const event = log.events[index];
        if (event === undefined) {
          await nextAppend(control.signal);
          continue;
        }
        index++;
        if (category === undefined || categoryOf(event.streamId) === category) {
          await handler(copyEvent(event));
        }
      }
    });

  return {
    append: (streamId, events, appendOptions = {}) =>
      settle(() => {
        assertOpen();
        assertStreamId(streamId);
        const expected = appendOptions.expectedRevision ?? 'any';
        assertExpectedRevision(expected);
        const request = { streamId, events: normalizeEvents(streamId, events), expected, skipStored: false };
        const [result] = appendToLog(log, [request], new Date(clock.now()));
        if (result === undefined) throw new SchedulerError('INTERNAL', 'an append returned no result');
        if (result.appended > 0) appended();
        return { nextExpectedRevision: result.nextExpectedRevision, position: result.position };
      }),

    appendMany: (requests) =>
      settle(() => {
        assertOpen();
        const results = appendToLog(log, normalizeRequests(requests), new Date(clock.now()));
        if (results.some((result) => result.appended > 0)) appended();
        return results;
      }),

    readStream: (streamId, readOptions = {}) =>
      settle(() => {
        assertOpen();
        assertStreamId(streamId);
        assertRevision(readOptions.fromRevision, 'fromRevision');
        assertCount(readOptions.maxCount);
        const stream = log.streams.get(streamId) ?? [];
        const maxCount = readOptions.maxCount ?? stream.length;
        const from = readOptions.fromRevision;
        // Revision r sits at index r.
        const selected =
          readOptions.direction === 'backwards'
            ? stream
                .slice(0, from === undefined ? stream.length : Number(from) + 1)
                .reverse()
                .slice(0, maxCount)
            : stream.slice(Number(from ?? 0n), Number(from ?? 0n) + maxCount);
        return selected.map(copyEvent);
      }),

    readAll: (readOptions = {}) =>
      settle(() => {
        assertOpen();
        assertRevision(readOptions.after, 'after');
        assertCount(readOptions.maxCount);
        return readAfter(readOptions.after ?? 0n, readOptions.maxCount ?? DEFAULT_READ_ALL_COUNT);
      }),

    readCategory: (category, readOptions = {}) =>
      settle(() => {
        assertOpen();
        assertCategory(category);
        assertRevision(readOptions.after, 'after');
        assertCount(readOptions.maxCount);
        return readAfter(readOptions.after ?? 0n, readOptions.maxCount ?? DEFAULT_READ_ALL_COUNT, category);
      }),

    subscribe: (subscribeOptions) => {
      assertOpen();
      if (subscribeOptions.category !== undefined) assertCategory(subscribeOptions.category);
      assertRevision(subscribeOptions.after, 'after');
      return subscriptions.add(subscribe(subscribeOptions));
    },

    close: () => {
      closing ??= subscriptions.closeAll();
      return closing;
    },
  };
}
