import { SchedulerError } from '@openpenpal/errors';
import pg from 'pg';
import { DEFAULT_READ_ALL_COUNT, type EventStore, type EventStoreLogger } from '../port.ts';
import { createSubscriptionRegistry } from '../subscription-control.ts';
import {
  assertCategory,
  assertCount,
  assertExpectedRevision,
  assertRevision,
  assertStreamId,
  normalizeEvents,
} from '../validation.ts';
import { normalizeRequests } from '../append-many.ts';
import { appendEvents } from './append.ts';
import { appendManyEvents } from './append-many.ts';
import { createPgListener } from './listener.ts';
import { createPgNotifier } from './notifier.ts';
import { readEventsAfter, readStreamEvents } from './reads.ts';
import { migrate, pgNames } from './schema.ts';
import { subscribePostgres } from './subscription.ts';
import { withReadSpans } from '../traced.ts';
import { readHorizon } from './watermark.ts';

export interface PostgresEventStoreOptions {
  pool: pg.Pool;
  /** The schema holding the `events` table; /^[a-z_][a-z0-9_]*$/, default `event_store`. */
  schema?: string;
  logger?: EventStoreLogger;
  /** Events a subscription reads per query; default 500. */
  subscriptionBatchSize?: number;
  /** Longest wait between subscription polls when no NOTIFY arrives; default 1000 ms. */
  pollIntervalMs?: number;
  /**
   * Opens the dedicated LISTEN connection; default `new pg.Client(pool.options)`, the pool's own settings.
   */
  connectListener?: () => pg.Client;
}

export interface PostgresEventStore extends EventStore {
  /** Creates the schema, table and indexes when missing; safe to run on every start, and concurrently. */
  migrate(): Promise<void>;
}

const silentLogger: EventStoreLogger = { warn: () => undefined, error: () => undefined };

function closedError(): SchedulerError {
  return new SchedulerError('SHUTTING_DOWN', 'the event store is closed');
}

/** The PostgreSQL adapter: one table, appends serialised per stream, subscriptions by polling and NOTIFY. */
export function createPostgresEventStore(options: PostgresEventStoreOptions): PostgresEventStore {
  const { pool } = options;
  const names = pgNames(options.schema);
  const logger = options.logger ?? silentLogger;
  const batchSize = options.subscriptionBatchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  assertCount(batchSize, 'subscriptionBatchSize');
  assertCount(pollIntervalMs, 'pollIntervalMs');
  const listener = createPgListener({
    connect: options.connectListener ?? (() => new pg.Client(pool.options)),
    channel: names.channel,
    logger,
  });
  const notifier = createPgNotifier({ pool, channel: names.channel, logger });
  const subscriptions = createSubscriptionRegistry();
  let closing: Promise<void> | undefined;
  const assertOpen = (): void => {
    if (closing) throw closedError();
  };

  // A reader pages with the last position it got as the next `after`: it must never be handed an event
  // while an earlier position may still commit, so reads stop at the horizon like subscriptions do.
  const readFinal = async (after: bigint, maxCount: number, category: string | undefined) => {
    const upTo = (await readHorizon(pool, names)) ?? 0n;
    return readEventsAfter(pool, names, { after, upTo }, maxCount, category);
  };

  const store: PostgresEventStore = {
    migrate: () => migrate(pool, names),

    append: async (streamId, events, appendOptions = {}) => {
      assertOpen();
      assertStreamId(streamId);
      const expected = appendOptions.expectedRevision ?? 'any';
      assertExpectedRevision(expected);
      const result = await appendEvents(pool, names, streamId, normalizeEvents(streamId, events), expected);
      notifier.poke();
      return result;
    },

    appendMany: async (requests) => {
      assertOpen();
      const results = await appendManyEvents(pool, names, normalizeRequests(requests));
      if (results.some((result) => result.appended > 0)) notifier.poke();
      return results;
    },

    readStream: async (streamId, readOptions = {}) => {
      assertOpen();
      assertStreamId(streamId);
      assertRevision(readOptions.fromRevision, 'fromRevision');
      assertCount(readOptions.maxCount);
      return readStreamEvents(pool, names, streamId, readOptions);
    },

    readAll: async (readOptions = {}) => {
      assertOpen();
      assertRevision(readOptions.after, 'after');
      assertCount(readOptions.maxCount);
      return readFinal(readOptions.after ?? 0n, readOptions.maxCount ?? DEFAULT_READ_ALL_COUNT, undefined);
    },

    readCategory: async (category, readOptions = {}) => {
      assertOpen();
      assertCategory(category);
      assertRevision(readOptions.after, 'after');
      assertCount(readOptions.maxCount);
      return readFinal(readOptions.after ?? 0n, readOptions.maxCount ?? DEFAULT_READ_ALL_COUNT, category);
    },

    subscribe: (subscribeOptions) => {
      assertOpen();
      if (subscribeOptions.category !== undefined) assertCategory(subscribeOptions.category);
      assertRevision(subscribeOptions.after, 'after');
      return subscriptions.add(
        subscribePostgres({ pool, names, listener, logger, batchSize, pollIntervalMs }, subscribeOptions),
      );
    },

    close: () => {
      closing ??= (async () => {
        await subscriptions.closeAll();
        await listener.close();
        await notifier.flush();
      })();
      return closing;
    },
  };
  return withReadSpans(store, 'postgresql', names.schema);
}
