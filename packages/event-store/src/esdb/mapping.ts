import {
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { SchedulerError, isSchedulerError, type ErrorCode } from '@openpenpal/errors';
import type { ExpectedRevision, JsonObject, RecordedEvent } from '../port.ts';

// Stream reads on servers before 22.6 carry no position; older gRPC servers sent the maximum uint64.
export const NO_POSITION = 2n ** 64n - 1n;

/**
 * The port's position is the event's commit position. Events appended over gRPC have equal commit and
 * prepare positions (they differ only inside explicit transactions of the legacy TCP API), so a bigint
 * position maps back to `{ commit: p, prepare: p }` without loss.
 */
export function toEsdbPosition(position: bigint): { commit: bigint; prepare: bigint } {
  return { commit: position, prepare: position };
}

export function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected;
  }
}

/** Events of our streams: not system streams (`$...`) nor system event types (`$>` links, `$metadata`). */
export function isUserEvent(event: { streamId: string; type: string }): boolean {
  return !event.streamId.startsWith('$') && !event.type.startsWith('$');
}

function isObject(value: unknown): value is JsonObject {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/** The port's view of a resolved event; the event store only ever writes JSON objects. */
export function toRecordedEvent(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent {
  const event = resolved.event;
  if (event === undefined) {
    throw new SchedulerError('INTERNAL', 'EventStoreDB returned a link whose event is gone');
  }
  const position = event.position?.commit;
  if (position === undefined || position === NO_POSITION) {
    throw new SchedulerError('INTERNAL', 'EventStoreDB did not report the event position (server < 22.6?)', {
      details: { stream: event.streamId, revision: event.revision.toString() },
    });
  }
  if (!event.isJson || !isObject(event.data)) {
    throw new SchedulerError('INTERNAL', 'an event in EventStoreDB is not a JSON object', {
      details: { stream: event.streamId, revision: event.revision.toString(), id: event.id },
    });
  }
  return {
    id: event.id,
    type: event.type,
    data: event.data,
    metadata: isObject(event.metadata) ? event.metadata : {},
    streamId: event.streamId,
    revision: event.revision,
    position,
    createdAt: event.created,
  };
}

const CODES_BY_TYPE: Readonly<Record<string, ErrorCode>> = {
  unavailable: 'DEPENDENCY_UNAVAILABLE',
  timeout: 'DEPENDENCY_UNAVAILABLE',
  'deadline-exceeded': 'DEPENDENCY_UNAVAILABLE',
  'not-leader': 'DEPENDENCY_UNAVAILABLE',
  'maximum-append-size-exceeded': 'PAYLOAD_TOO_LARGE',
  'access-denied': 'FORBIDDEN',
  'stream-deleted': 'NOT_FOUND',
};

/**
 * Maps the client's command errors (told apart by their `type`) to scheduler codes; errors it does not
 * know pass through unchanged.
 */
export function classifyEsdbError(error: unknown, operation: string): unknown {
  if (isSchedulerError(error)) return error;
  if (typeof error !== 'object' || error === null || !('type' in error) || typeof error.type !== 'string') {
    return error;
  }
  const code = CODES_BY_TYPE[error.type];
  if (code === undefined) return error;
  const message = error instanceof Error ? error.message : error.type;
  return new SchedulerError(code, `EventStoreDB ${operation} failed: ${message}`, {
    cause: error,
    details: { operation, type: error.type },
  });
}
