import type { SchemaTypes } from '@openpenpal/contracts';
import { SchedulerError, isSchedulerError, toError } from '@openpenpal/errors';
import type { AppendManyResult, EventStore } from '@openpenpal/event-store';
import { batchSubscription, type AnySubscription, type BatchHandler } from '@openpenpal/messaging';
import { ATTR, SpanKind, isTracingEnabled, startSpan } from '@openpenpal/telemetry';
import { RECORDED_KINDS, type RecordedKind, type RecordedSchema } from '@openpenpal/task-definitions';
import { planChunks, planMessage, type Chunk, type RecordedMessage } from './record-batches.ts';

export interface IngestObserver {
  appended(outcome: {
    topic: string;
    types: ReadonlyMap<string, number>;
    duplicates: number;
    durationMs: number;
    events: number;
    position: bigint;
  }): void;
}

export interface IngestLimits {
  maxEvents: number;
  maxStreams: number;
}

/**
 * What a failed append means for the consumer. The store refusing the data (CONFLICT: an event id
 * stored in another stream; VALIDATION_FAILED: a value it cannot hold) is the fault of some message:
 * thrown as it is, a non-retryable code, so the messaging layer tries each message of the slice alone
 * and dead-letters only the refused ones. Anything else is the store's problem, not the messages'
 * (an outage, a missing table): DEPENDENCY_UNAVAILABLE, which holds the partition with heartbeats and
 * retries with backoff until the store takes the events, so they wait in Kafka instead of the DLQ.
 */
function appendFailure(error: unknown): unknown {
  if (isSchedulerError(error)) {
    if (error.code === 'CONFLICT' || error.code === 'VALIDATION_FAILED') return error;
    if (error.code === 'DEPENDENCY_UNAVAILABLE') return error;
  }
  return new SchedulerError('DEPENDENCY_UNAVAILABLE', `the event store failed: ${toError(error).message}`, {
    cause: error,
  });
}

function summarize(chunk: Chunk, results: readonly AppendManyResult[]) {
  const types = new Map<string, number>();
  let duplicates = chunk.repeated;
  let position = 0n;
  results.forEach((result, index) => {
    const skipped = new Set(result.skippedIds);
    duplicates += skipped.size;
    if (result.position > position) position = result.position;
    for (const event of chunk.requests[index]?.events ?? []) {
      if (!skipped.has(event.id.toLowerCase())) types.set(event.type, (types.get(event.type) ?? 0) + 1);
    }
  });
  return { types, duplicates, position };
}

/**
 * One multi-stream append, inside a client span (a child of the slice's consume span) when tracing
 * runs: the store's work shows in the trace of the messages it records.
 */
function appendTraced(store: EventStore, chunk: Chunk): Promise<AppendManyResult[]> {
  if (!isTracingEnabled()) return store.appendMany(chunk.requests);
  return startSpan('event_store append', () => store.appendMany(chunk.requests), {
    kind: SpanKind.CLIENT,
    attributes: {
      [ATTR.dbSystem]: 'postgresql',
      [ATTR.dbOperation]: 'append_many',
      [ATTR.dbBatchSize]: chunk.requests.length,
      [ATTR.eventCount]: chunk.events,
    },
  });
}

/**
 * The ingest's batch handler for one recorded topic: a slice of one partition's messages becomes one
 * multi-stream append (more when it spans more than `maxStreams` streams), so storing a thousand
 * events costs one round trip and one transaction. Delivery stays at least once and storage exactly
 * once: a redelivered message's event id is already in its stream and the append leaves it out
 * (`onStored: 'skip'`), which also makes a retried slice whose first appends went through harmless.
 * A message whose value the store must not take is returned as rejected (dead-lettered by the layer).
 */
function createIngestHandler(options: {
  store: EventStore;
  kind: RecordedKind;
  limits: IngestLimits;
  observer?: IngestObserver;
}): BatchHandler<SchemaTypes[RecordedSchema]> {
  const { store, kind, limits, observer } = options;
  return async (messages) => {
    const planned = messages.map((message) => planMessage(kind, message));
    const rejected: { message: RecordedMessage; error: unknown }[] = [];
    for (const item of planned) if ('error' in item) rejected.push(item);
    for (const chunk of planChunks(planned, limits)) {
      const started = performance.now();
      let results: AppendManyResult[];
      try {
        results = await appendTraced(store, chunk);
      } catch (error) {
        throw appendFailure(error);
      }
      const topic = messages[0]?.topic ?? '';
      observer?.appended({
        topic,
        ...summarize(chunk, results),
        durationMs: performance.now() - started,
        events: chunk.events,
      });
    }
    return { rejected };
  };
}

/** One batch subscription per recorded topic, named by the config. */
export function ingestSubscriptions(options: {
  store: EventStore;
  topics: ReadonlyMap<string, RecordedKind>;
  limits: IngestLimits;
  observer?: IngestObserver;
}): AnySubscription[] {
  // A slice holds at most one append's worth of events: a retried slice redoes one append, and when
  // the store refuses an event the layer isolates one append's messages rather than a whole fetch.
  const maxBatchSize = options.limits.maxEvents;
  return [...options.topics].map(([topic, kind]) =>
    batchSubscription(
      { topic, schema: RECORDED_KINDS[kind].schema },
      createIngestHandler({ ...options, kind }),
      { maxBatchSize },
    ),
  );
}
