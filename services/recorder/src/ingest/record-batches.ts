import type { SchemaTypes } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import type { AppendRequest, EventData } from '@openpenpal/event-store';
import type { ConsumedMessage } from '@openpenpal/messaging';
import { toStoredEvent, type RecordedKind, type RecordedSchema } from '@openpenpal/task-definitions';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Headers kept in the event metadata: the W3C trace context, so a recorded event links to its trace. */
const TRACE_HEADERS = ['traceparent', 'tracestate'] as const;

/** A decoded message of one of the recorded topics. */
export type RecordedMessage = ConsumedMessage<SchemaTypes[RecordedSchema]>;

/** One consumed message: the event it becomes, or why it cannot be recorded. */
export type PlannedMessage<M extends RecordedMessage = RecordedMessage> =
  { message: M; streamId: string; event: EventData } | { message: M; error: unknown };

/**
 * Turns a decoded message of a recorded topic into its event-store event. Metadata keeps where it came
 * from (topic, partition, offset, key, message id, broker time) and its trace context. A value the
 * store must not take (an `event_id` that is not a UUID, no stream key) comes back as an error.
 */
export function planMessage<M extends RecordedMessage>(kind: RecordedKind, message: M): PlannedMessage<M> {
  try {
    if (!UUID.test(message.value.event_id)) {
      throw new SchedulerError('VALIDATION_FAILED', 'event_id is not a UUID', {
        details: { field: 'event_id' },
      });
    }
    const metadata: Record<string, unknown> = {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      key: message.key,
      message_id: message.messageId ?? null,
      kafka_timestamp: message.timestamp,
    };
    const { headers } = message;
    for (const name of TRACE_HEADERS) {
      const text = headers[name];
      if (text !== undefined) metadata[name] = text;
    }
    const { streamId, event } = toStoredEvent(kind, message.value, metadata);
    return { message, streamId, event };
  } catch (error) {
    return { message, error };
  }
}

/** Consecutive events of a slice stored by one multi-stream append. */
export interface Chunk {
  requests: AppendRequest[];
  events: number;
  /** Messages left out because the chunk already held their event id. */
  repeated: number;
}

/**
 * Cuts planned messages into chunks of consecutive events, each at most `maxEvents` events over at
 * most `maxStreams` streams, with the events of each stream in message order; messages that cannot be
 * recorded are left out. An event id seen earlier in the chunk (a producer re-sent a message) is left
 * out; across chunks the store's skip rule drops it.
 */
export function planChunks(
  planned: readonly PlannedMessage[],
  limits: { maxEvents: number; maxStreams: number },
): Chunk[] {
  const chunks: Chunk[] = [];
  let streams = new Map<string, EventData[]>();
  let ids = new Set<string>();
  let events = 0;
  let repeated = 0;
  const close = (): void => {
    if (events === 0 && repeated === 0) return;
    chunks.push({
      requests: [...streams].map(([streamId, list]) => ({
        streamId,
        events: list,
        onStored: 'skip' as const,
      })),
      events,
      repeated,
    });
    streams = new Map();
    ids = new Set();
    events = 0;
    repeated = 0;
  };
  for (const item of planned) {
    if (!('event' in item)) continue;
    const id = item.event.id.toLowerCase();
    if (ids.has(id)) {
      repeated++;
      continue;
    }
    if (events >= limits.maxEvents || (!streams.has(item.streamId) && streams.size >= limits.maxStreams)) {
      close();
    }
    ids.add(id);
    const list = streams.get(item.streamId);
    if (list) list.push(item.event);
    else streams.set(item.streamId, [item.event]);
    events++;
  }
  close();
  return chunks;
}
