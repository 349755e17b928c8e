import { SchedulerError } from '@openpenpal/errors';
import type { AppendRequest, ExpectedRevision } from './port.ts';
import {
  assertExpectedRevision,
  assertStreamId,
  normalizeEvents,
  type NormalizedEvent,
} from './validation.ts';

/** A request of `appendMany` after validation, as the adapters take it. */
export interface NormalizedRequest {
  streamId: string;
  events: NormalizedEvent[];
  expected: ExpectedRevision;
  skipStored: boolean;
}

function invalid(message: string, details: Record<string, unknown>): SchedulerError {
  return new SchedulerError('VALIDATION_FAILED', message, { details });
}

/**
 * Checks a multi-stream append before anything is sent. A stream named twice would need two expected
 * revisions for one stream, and an id used twice would be stored once at best: both are refused.
 */
export function normalizeRequests(requests: readonly AppendRequest[]): NormalizedRequest[] {
  if (requests.length === 0) {
    throw invalid('appendMany needs at least one request', {});
  }
  const streams = new Set<string>();
  const ids = new Set<string>();
  return requests.map((request) => {
    assertStreamId(request.streamId);
    if (streams.has(request.streamId)) {
      throw invalid('a stream appears twice in one appendMany', { streamId: request.streamId });
    }
    streams.add(request.streamId);
    const expected = request.expectedRevision ?? 'any';
    assertExpectedRevision(expected);
    // Typed unknown: JavaScript callers may pass anything.
    const onStored: unknown = request.onStored ?? 'conflict';
    if (onStored !== 'conflict' && onStored !== 'skip') {
      throw invalid('onStored is conflict or skip', { streamId: request.streamId, onStored });
    }
    const events = normalizeEvents(request.streamId, request.events);
    for (const event of events) {
      if (ids.has(event.id)) {
        throw invalid('an event id appears twice in one appendMany', {
          streamId: request.streamId,
          id: event.id,
        });
      }
      ids.add(event.id);
    }
    return { streamId: request.streamId, events, expected, skipStored: onStored === 'skip' };
  });
}
