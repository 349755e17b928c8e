import { SchedulerError } from '@openpenpal/errors';
import type { NormalizedRequest } from '../append-many.ts';
import type { AppendManyResult, CurrentRevision, JsonObject, RecordedEvent } from '../port.ts';
import { conflictError, describeRevision, expectationHolds, type NormalizedEvent } from '../validation.ts';

/**
 * The in-memory adapter's storage: one array in position order (position = index + 1), an index of
 * streams and one of event ids. Appends decide everything before they change anything, and never
 * await in between, so an append is atomic and appends to one stream run one after the other, as the
 * PostgreSQL adapter's per-stream lock makes them.
 */
export interface MemoryLog {
  readonly events: RecordedEvent[];
  readonly streams: Map<string, RecordedEvent[]>;
  readonly byId: Map<string, RecordedEvent>;
}

export function createMemoryLog(): MemoryLog {
  return { events: [], streams: new Map(), byId: new Map() };
}

/** What an append stores: JSON in, JSON out, as `jsonb` and EventStoreDB's JSON events give back. */
function jsonCopy(value: JsonObject): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

/** A copy for a reader: callers may change what they get without changing the store. */
export function copyEvent(event: RecordedEvent): RecordedEvent {
  return {
    ...event,
    data: jsonCopy(event.data),
    metadata: jsonCopy(event.metadata),
    createdAt: new Date(event.createdAt),
  };
}

function currentRevision(log: MemoryLog, streamId: string): CurrentRevision {
  const last = log.streams.get(streamId)?.at(-1);
  return last === undefined ? 'no_stream' : last.revision;
}

/** One request's outcome, decided before anything is stored (the rules of the PostgreSQL functions). */
type Outcome =
  | { kind: 'appended'; keep: NormalizedEvent[]; skippedIds: string[] }
  | { kind: 'replayed'; last: RecordedEvent; skippedIds: string[] }
  | { kind: 'failed'; error: SchedulerError };

function duplicate(request: NormalizedRequest, stored: RecordedEvent[], actual: CurrentRevision) {
  // Ids stored elsewhere, or a mix of stored and new ones: a different batch reusing ids, not a replay.
  return new SchedulerError('CONFLICT', 'some event ids of this append are already stored elsewhere', {
    details: {
      stream: request.streamId,
      expected: describeRevision(request.expected),
      actual: describeRevision(actual),
      storedEventIds: stored.map((event) => event.id),
      storedInStreams: [...new Set(stored.map((event) => event.streamId))],
    },
  });
}

function decide(log: MemoryLog, request: NormalizedRequest): Outcome {
  const actual = currentRevision(log, request.streamId);
  const found = request.events.map((event) => log.byId.get(event.id));
  const stored = found.filter((event) => event !== undefined);
  const skippedIds = stored.map((event) => event.id);
  if (stored.some((event) => event.streamId !== request.streamId)) {
    return { kind: 'failed', error: duplicate(request, stored, actual) };
  }
  const inOrder = stored.every(
    (event, index) => index === 0 || event.revision === (stored[index - 1]?.revision ?? -2n) + 1n,
  );
  if (stored.length > 0 && stored.length === request.events.length && (request.skipStored || inOrder)) {
    const last = stored.reduce((top, event) => (event.revision > top.revision ? event : top));
    return { kind: 'replayed', last, skippedIds };
  }
  if (stored.length > 0 && !request.skipStored) {
    return { kind: 'failed', error: duplicate(request, stored, actual) };
  }
  if (!expectationHolds(request.expected, actual)) {
    return { kind: 'failed', error: conflictError(request.streamId, request.expected, actual) };
  }
  // Copied here, before anything is stored: data JSON cannot hold (a bigint) fails the whole call.
  const keep = request.events
    .filter((_, index) => found[index] === undefined)
    .map((event) => ({ ...event, data: jsonCopy(event.data), metadata: jsonCopy(event.metadata) }));
  return { kind: 'appended', keep, skippedIds };
}

/**
 * Appends the requests all or nothing: the first failing request (in request order) throws and nothing
 * is stored; otherwise the new events are stored in request order, so positions follow that order.
 */
export function appendToLog(
  log: MemoryLog,
  requests: readonly NormalizedRequest[],
  now: Date,
): AppendManyResult[] {
  const outcomes = requests.map((request) => decide(log, request));
  for (const outcome of outcomes) if (outcome.kind === 'failed') throw outcome.error;
  return outcomes.map((outcome, index) => {
    const streamId = requests[index]?.streamId ?? '';
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'replayed') {
      const { revision, position } = outcome.last;
      return { nextExpectedRevision: revision, position, appended: 0, skippedIds: outcome.skippedIds };
    }
    let stream = log.streams.get(streamId);
    if (stream === undefined) {
      stream = [];
      log.streams.set(streamId, stream);
    }
    let last: RecordedEvent | undefined;
    for (const event of outcome.keep) {
      const recorded: RecordedEvent = {
        id: event.id,
        type: event.type,
        data: event.data,
        metadata: event.metadata,
        streamId,
        revision: BigInt(stream.length),
        position: BigInt(log.events.length + 1),
        createdAt: new Date(now),
      };
      log.events.push(recorded);
      stream.push(recorded);
      log.byId.set(recorded.id, recorded);
      last = recorded;
    }
    if (last === undefined) throw new SchedulerError('INTERNAL', 'an append decided to store nothing');
    return {
      nextExpectedRevision: last.revision,
      position: last.position,
      appended: outcome.keep.length,
      skippedIds: outcome.skippedIds,
    };
  });
}
