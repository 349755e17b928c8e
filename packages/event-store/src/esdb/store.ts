import {
  BACKWARDS,
  END,
  FORWARDS,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  jsonEvent,
  type EventStoreDBClient,
  type ReadPosition,
} from '@eventstore/db-client';
import { SchedulerError } from '@openpenpal/errors';
import { normalizeRequests } from '../append-many.ts';
import {
  DEFAULT_READ_ALL_COUNT,
  type AppendResult,
  type EventData,
  type ExpectedRevision,
  type EventStore,
  type EventStoreLogger,
  type ReadStreamOptions,
  type RecordedEvent,
} from '../port.ts';
import { createSubscriptionRegistry } from '../subscription-control.ts';
import {
  assertCategory,
  assertCount,
  assertExpectedRevision,
  assertRevision,
  assertStreamId,
  categoryOf,
  conflictError,
  normalizeEvents,
} from '../validation.ts';
import {
  NO_POSITION,
  classifyEsdbError,
  isUserEvent,
  toEsdbExpectedRevision,
  toEsdbPosition,
  toRecordedEvent,
} from './mapping.ts';
import { appendManyEsdb } from './append-many.ts';
import { subscribeEsdb } from './subscription.ts';
import { withReadSpans } from '../traced.ts';

export interface EsdbEventStoreOptions {
  /** Owned by the caller: close() does not dispose it. */
  client: EventStoreDBClient;
  logger?: EventStoreLogger;
  /** Events per `$all` page when reading all or a category; default 500. */
  readPageSize?: number;
}

const silentLogger: EventStoreLogger = { warn: () => undefined, error: () => undefined };

/** The EventStoreDB/KurrentDB adapter on the gRPC client. */
export function createEsdbEventStore(options: EsdbEventStoreOptions): EventStore {
  const { client } = options;
  const logger = options.logger ?? silentLogger;
  const pageSize = options.readPageSize ?? 500;
  assertCount(pageSize, 'readPageSize');
  const subscriptions = createSubscriptionRegistry();
  let closing: Promise<void> | undefined;
  const assertOpen = (): void => {
    if (closing) throw new SchedulerError('SHUTTING_DOWN', 'the event store is closed');
  };

  const readStream = async (streamId: string, read: ReadStreamOptions): Promise<RecordedEvent[]> => {
    const backwards = read.direction === 'backwards';
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of client.readStream(streamId, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: read.fromRevision ?? (backwards ? END : START),
        ...(read.maxCount === undefined ? {} : { maxCount: read.maxCount }),
      })) {
        events.push(toRecordedEvent(resolved));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw classifyEsdbError(error, 'readStream');
    }
    return events;
  };

  /**
   * The client's readAll (6.x) sends no server-side filter, so `$all` is read page by page and filtered
   * here; subscriptions do filter on the server (see subscription.ts).
   */
  const readAfter = async (
    after: bigint | undefined,
    maxCount: number,
    category: string | undefined,
  ): Promise<RecordedEvent[]> => {
    const events: RecordedEvent[] = [];
    let checkpoint = after;
    try {
      for (;;) {
        // fromPosition is inclusive: the event at the checkpoint comes back first and is skipped below.
        const fromPosition: ReadPosition = checkpoint === undefined ? START : toEsdbPosition(checkpoint);
        const pageStart = checkpoint;
        let read = 0;
        for await (const resolved of client.readAll({
          fromPosition,
          maxCount: pageSize,
          direction: FORWARDS,
        })) {
          read++;
          const event = resolved.event;
          if (event === undefined) continue;
          const position = event.position.commit;
          if (checkpoint !== undefined && position <= checkpoint) continue;
          checkpoint = position;
          if (!isUserEvent(event)) continue;
          if (category !== undefined && categoryOf(event.streamId) !== category) continue;
          events.push(toRecordedEvent(resolved));
          if (events.length === maxCount) return events;
        }
        if (read < pageSize || checkpoint === pageStart) return events;
      }
    } catch (error) {
      throw classifyEsdbError(error, category === undefined ? 'readAll' : 'readCategory');
    }
  };

  /** An idempotent replay reports no position (the server answers -1); the original event at that revision has it. */
  const positionAt = async (streamId: string, revision: bigint): Promise<bigint> => {
    const [event] = await readStream(streamId, { fromRevision: revision, maxCount: 1 });
    if (event === undefined) {
      throw new SchedulerError('INTERNAL', `event ${revision.toString()} of ${streamId} is missing`);
    }
    return event.position;
  };

  const appendToStream = async (
    streamId: string,
    events: readonly EventData[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> => {
    const batch = events.map((event) =>
      jsonEvent({ id: event.id, type: event.type, data: event.data, metadata: event.metadata ?? {} }),
    );
    try {
      const result = await client.appendToStream(streamId, batch, {
        expectedRevision: toEsdbExpectedRevision(expected),
      });
      const reported = result.position?.commit;
      const position =
        reported === undefined || reported === NO_POSITION
          ? await positionAt(streamId, result.nextExpectedRevision)
          : reported;
      return { nextExpectedRevision: result.nextExpectedRevision, position };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw conflictError(streamId, expected, error.actualVersion, error);
      }
      throw classifyEsdbError(error, 'append');
    }
  };

  const store: EventStore = {
    append: async (streamId, events, appendOptions = {}): Promise<AppendResult> => {
      assertOpen();
      assertStreamId(streamId);
      const expected = appendOptions.expectedRevision ?? 'any';
      assertExpectedRevision(expected);
      return appendToStream(streamId, normalizeEvents(streamId, events), expected);
    },

    appendMany: async (requests) => {
      assertOpen();
      return appendManyEsdb(
        {
          append: (streamId, events, expected) => appendToStream(streamId, events, expected),
          readStream: (streamId) => readStream(streamId, {}),
        },
        normalizeRequests(requests),
      );
    },

    readStream: async (streamId, read = {}) => {
      assertOpen();
      assertStreamId(streamId);
      assertRevision(read.fromRevision, 'fromRevision');
      assertCount(read.maxCount);
      return readStream(streamId, read);
    },

    readAll: async (read = {}) => {
      assertOpen();
      assertRevision(read.after, 'after');
      assertCount(read.maxCount);
      return readAfter(read.after, read.maxCount ?? DEFAULT_READ_ALL_COUNT, undefined);
    },

    readCategory: async (category, read = {}) => {
      assertOpen();
      assertCategory(category);
      assertRevision(read.after, 'after');
      assertCount(read.maxCount);
      return readAfter(read.after, read.maxCount ?? DEFAULT_READ_ALL_COUNT, category);
    },

    subscribe: (subscribeOptions) => {
      assertOpen();
      if (subscribeOptions.category !== undefined) assertCategory(subscribeOptions.category);
      assertRevision(subscribeOptions.after, 'after');
      return subscriptions.add(subscribeEsdb({ client, logger }, subscribeOptions));
    },

    close: () => {
      closing ??= subscriptions.closeAll();
      return closing;
    },
  };
  return withReadSpans(store, 'eventstoredb', undefined);
}
