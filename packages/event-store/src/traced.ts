import { ATTR, SpanKind, isInsideSpan, startSpan } from '@openpenpal/telemetry';
import type { EventStore, RecordedEvent } from './port.ts';

/** Who stores the events, as `db.system.name` says it (EventStoreDB has no registered name: ours). */
export type EventStoreSystem = 'postgresql' | 'eventstoredb';

type Read = 'readStream' | 'readAll' | 'readCategory';

const OPERATIONS: Record<Read, string> = {
  readStream: 'read_stream',
  readAll: 'read_all',
  readCategory: 'read_category',
};

/**
 * The store with a client span around each read (`event_store read_stream` and so on, with the
 * database conventions: db.system.name, db.operation.name, db.namespace, the stream or category as
 * db.collection.name, db.response.returned_rows), made only as the child of a recording span (an HTTP
 * request, a handler) — a read outside one, or without a tracing SDK, is only the read. Appends
 * are traced by their callers (the recorder's `event_store append`), subscriptions not at all:
 * their polls would each start a trace.
 */
export function withReadSpans<S extends EventStore>(
  store: S,
  system: EventStoreSystem,
  namespace: string | undefined,
): S {
  const traced =
    <A extends unknown[]>(
      read: Read,
      run: (...args: A) => Promise<RecordedEvent[]>,
      collection: (...args: A) => string | undefined,
    ) =>
    (...args: A): Promise<RecordedEvent[]> => {
      if (!isInsideSpan()) return run(...args);
      const operation = OPERATIONS[read];
      const target = collection(...args);
      return startSpan(
        `event_store ${operation}`,
        async (span) => {
          const events = await run(...args);
          span.setAttribute(ATTR.dbResponseRows, events.length);
          return events;
        },
        {
          kind: SpanKind.CLIENT,
          attributes: {
            [ATTR.dbSystem]: system,
            [ATTR.dbOperation]: operation,
            ...(namespace === undefined ? {} : { [ATTR.dbNamespace]: namespace }),
            ...(target === undefined ? {} : { [ATTR.dbCollection]: target }),
          },
        },
      );
    };
  return {
    ...store,
    readStream: traced(
      'readStream',
      (...args: Parameters<EventStore['readStream']>) => store.readStream(...args),
      (streamId) => streamId,
    ),
    readAll: traced(
      'readAll',
      (...args: Parameters<EventStore['readAll']>) => store.readAll(...args),
      () => undefined,
    ),
    readCategory: traced(
      'readCategory',
      (...args: Parameters<EventStore['readCategory']>) => store.readCategory(...args),
      (category) => category,
    ),
  };
}
