import type { Contracts } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import type { AppendRequest, EventData } from '@openpenpal/event-store';
import { HEADERS, headerText } from '@openpenpal/messaging';
import { RECORDED_KINDS, toStoredEvent, type RecordedKind } from '@openpenpal/task-definitions';
import type { KafkaMessage } from 'kafkajs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Headers kept in the event metadata: the W3C trace context, so a recorded event links to its trace. */
const TRACE_HEADERS = ['traceparent', 'tracestate'] as const;

/** One consumed message: the event it becomes, or why it cannot be recorded. */
export type PlannedMessage =
  | { offset: string; message: KafkaMessage; streamId: string; event: EventData }
  | { offset: string; message: KafkaMessage; error: unknown };

export interface IngestObserver {
  appended(outcome: {
    topic: string;
    types: ReadonlyMap<string, number>;
    duplicates: number;
    durationMs: number;
    events: number;
    position: bigint;
  }): void;
  deadLettered(topic: string, code: string): void;
  retry(code: string): void;
}

/**
 * Decodes a message of a recorded topic into its event-store event. Metadata keeps where it came from
 * (topic, partition, offset, key, message id, broker time) and its trace context.
 */
export function planMessage(
  contracts: Contracts,
  kind: RecordedKind,
  source: { topic: string; partition: number },
  message: KafkaMessage,
): PlannedMessage {
  const { offset } = message;
  try {
    if (message.value === null) {
      throw new SchedulerError('DECODE_FAILED', `null value on ${source.topic}, which takes no tombstones`);
    }
    const value = contracts.codec(RECORDED_KINDS[kind].schema).decode(message.value);
    if (!UUID.test(value.event_id)) {
      throw new SchedulerError('VALIDATION_FAILED', 'event_id is not a UUID', {
        details: { field: 'event_id' },
      });
    }
    const metadata: Record<string, unknown> = {
      topic: source.topic,
      partition: source.partition,
      offset,
      key: message.key?.toString() ?? null,
      message_id: headerText(message.headers, HEADERS.messageId) ?? null,
      kafka_timestamp: Number(message.timestamp),
    };
    for (const name of TRACE_HEADERS) {
      const text = headerText(message.headers, name);
      if (text !== undefined) metadata[name] = text;
    }
    const { streamId, event } = toStoredEvent(kind, value, metadata);
    return { offset, message, streamId, event };
  } catch (error) {
    return { offset, message, error };
  }
}

/** A slice of a Kafka batch stored by one multi-stream append; committing `lastOffset` after it is safe. */
export interface Chunk {
  requests: AppendRequest[];
  lastOffset: string;
  events: number;
  /** Messages left out because the chunk already held their event id. */
  repeated: number;
}

/**
 * Cuts a batch into chunks of consecutive messages (so that each chunk's last offset may be committed
 * once it is stored), each at most `maxEvents` events over at most `maxStreams` streams, with the
 * events of each stream in message order. An event id seen earlier in the chunk (a producer re-sent a
 * message) is left out; across chunks the store's skip rule drops it.
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
  let lastOffset: string | undefined;
  const close = (): void => {
    if (lastOffset === undefined) return;
    chunks.push({
      requests: [...streams].map(([streamId, list]) => ({
        streamId,
        events: list,
        onStored: 'skip' as const,
      })),
      lastOffset,
      events,
      repeated,
    });
    streams = new Map();
    ids = new Set();
    events = 0;
    repeated = 0;
    lastOffset = undefined;
  };
  for (const item of planned) {
    if ('event' in item) {
      const id = item.event.id.toLowerCase();
      const full =
        events >= limits.maxEvents || (!streams.has(item.streamId) && streams.size >= limits.maxStreams);
      if (full && !ids.has(id)) close();
      if (ids.has(id)) {
        repeated++;
      } else {
        ids.add(id);
        const list = streams.get(item.streamId);
        if (list) list.push(item.event);
        else streams.set(item.streamId, [item.event]);
        events++;
      }
    }
    lastOffset = item.offset;
  }
  close();
  return chunks;
}
