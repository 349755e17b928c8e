import type { NormalizedRequest } from '../append-many.ts';
import type { AppendManyResult, AppendResult, EventData, ExpectedRevision, RecordedEvent } from '../port.ts';
import { describeRevision } from '../validation.ts';
import { SchedulerError } from '@openpenpal/errors';

export interface EsdbAppendManyDeps {
  append(streamId: string, events: readonly EventData[], expected: ExpectedRevision): Promise<AppendResult>;
  readStream(streamId: string): Promise<RecordedEvent[]>;
}

/**
 * EventStoreDB has no multi-stream transaction in the 6.x client, so requests are appended one stream
 * after the other. Each stream is read first: the server's own idempotency is only best effort with
 * `any`, and a batch mixing stored and new ids must be told apart exactly, as in the PostgreSQL adapter.
 * The read costs one round trip per stream; the recorder's streams are short. Unlike PostgreSQL, ids
 * stored in another stream are not detected (EventStoreDB does not index event ids).
 */
export async function appendManyEsdb(
  deps: EsdbAppendManyDeps,
  requests: readonly NormalizedRequest[],
): Promise<AppendManyResult[]> {
  const results: AppendManyResult[] = [];
  for (const request of requests) {
    const stored = new Map((await deps.readStream(request.streamId)).map((event) => [event.id, event]));
    const already = request.events.map((event) => stored.get(event.id));
    const found = already.filter((event) => event !== undefined);
    const inOrder = found.every((event, index) => {
      const previous = found[index - 1];
      return previous === undefined || event.revision === previous.revision + 1n;
    });
    if (found.length === request.events.length && (request.skipStored || inOrder)) {
      const last = found.reduce((top, event) => (event.revision > top.revision ? event : top));
      results.push({
        nextExpectedRevision: last.revision,
        position: last.position,
        appended: 0,
        skippedIds: found.map((event) => event.id),
      });
      continue;
    }
    if (found.length > 0 && !request.skipStored) {
      throw new SchedulerError('CONFLICT', 'some event ids of this append are already stored', {
        details: {
          stream: request.streamId,
          expected: describeRevision(request.expected),
          storedEventIds: found.map((event) => event.id),
          storedInStreams: [request.streamId],
        },
      });
    }
    const fresh = request.events.filter((_, index) => already[index] === undefined);
    const result = await deps.append(request.streamId, fresh, request.expected);
    results.push({ ...result, appended: fresh.length, skippedIds: found.map((event) => event.id) });
  }
  return results;
}
