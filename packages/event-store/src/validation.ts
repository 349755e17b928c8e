import { SchedulerError } from '@openpenpal/errors';
import type { CurrentRevision, EventData, ExpectedRevision, JsonObject } from './port.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_STREAM_ID_LENGTH = 500;

/** An event ready for an adapter: id lower-cased (PostgreSQL and EventStoreDB both print it so), metadata set. */
export interface NormalizedEvent {
  id: string;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
}

function invalid(message: string, details: Record<string, unknown>): SchedulerError {
  return new SchedulerError('VALIDATION_FAILED', message, { details });
}

function isPlainObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** The stream id before its first `-` (`execution-42` → `execution`); the whole id when it has none. */
export function categoryOf(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash === -1 ? streamId : streamId.slice(0, dash);
}

// Names starting with `$` are EventStoreDB's system streams; refusing them keeps both adapters alike.
export function assertStreamId(streamId: string): void {
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > MAX_STREAM_ID_LENGTH) {
    throw invalid(`a stream id is a string of 1 to ${MAX_STREAM_ID_LENGTH} characters`, { streamId });
  }
  if (streamId.startsWith('$')) throw invalid('stream ids starting with $ are reserved', { streamId });
}

export function assertCategory(category: string): void {
  if (typeof category !== 'string' || category.length === 0 || category.includes('-')) {
    throw invalid('a category is a non-empty stream id prefix without "-"', { category });
  }
  if (category.startsWith('$')) throw invalid('categories starting with $ are reserved', { category });
}

export function assertCount(maxCount: number | undefined, name = 'maxCount'): void {
  if (maxCount !== undefined && (!Number.isSafeInteger(maxCount) || maxCount < 1)) {
    throw invalid(`${name} is a positive integer`, { [name]: maxCount });
  }
}

export function assertRevision(revision: bigint | undefined, name: string): void {
  if (revision !== undefined && (typeof revision !== 'bigint' || revision < 0n)) {
    throw invalid(`${name} is a non-negative bigint`, { [name]: String(revision) });
  }
}

export function assertExpectedRevision(expected: ExpectedRevision): void {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return;
  if (typeof expected === 'bigint' && expected >= 0n) return;
  throw invalid('expectedRevision is any, no_stream, stream_exists or a revision >= 0n', {
    expectedRevision: String(expected),
  });
}

/** Checks a batch to append and returns it normalised; an empty batch is refused. */
export function normalizeEvents(streamId: string, events: readonly EventData[]): NormalizedEvent[] {
  if (events.length === 0) {
    throw invalid('append needs at least one event', { streamId });
  }
  const seen = new Set<string>();
  return events.map((event, index) => {
    if (typeof event.id !== 'string' || !UUID.test(event.id)) {
      throw invalid('an event id is a UUID', { streamId, index, id: event.id });
    }
    const id = event.id.toLowerCase();
    if (seen.has(id)) throw invalid('an event id appears twice in one append', { streamId, id });
    seen.add(id);
    if (typeof event.type !== 'string' || event.type.length === 0 || event.type.startsWith('$')) {
      throw invalid('an event type is a non-empty string not starting with $', { streamId, index });
    }
    if (!isPlainObject(event.data)) throw invalid('event data is a JSON object', { streamId, index });
    const metadata = event.metadata ?? {};
    if (!isPlainObject(metadata)) throw invalid('event metadata is a JSON object', { streamId, index });
    return { id, type: event.type, data: event.data, metadata };
  });
}

export function describeRevision(revision: ExpectedRevision | CurrentRevision): string {
  return typeof revision === 'bigint' ? revision.toString() : revision;
}

export function conflictError(
  streamId: string,
  expected: ExpectedRevision,
  actual: CurrentRevision,
  cause?: unknown,
): SchedulerError {
  return new SchedulerError(
    'CONFLICT',
    `stream ${streamId} is at ${describeRevision(actual)}, the append expected ${describeRevision(expected)}`,
    {
      details: { stream: streamId, expected: describeRevision(expected), actual: describeRevision(actual) },
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

export function expectationHolds(expected: ExpectedRevision, actual: CurrentRevision): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 'no_stream';
  if (expected === 'stream_exists') return actual !== 'no_stream';
  return actual === expected;
}
