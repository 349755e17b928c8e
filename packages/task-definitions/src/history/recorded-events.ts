import { shortName, unionBranch, type Contracts, type SchemaTypes } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import type { EventData, JsonObject, RecordedEvent } from '@openpenpal/event-store';
import { escapeNul, restoreNul } from './nul-escape.ts';
import { isHashedStreamKey, streamKey } from './stream-keys.ts';

/**
 * The scheduler's event topics the recorder keeps forever, and the stream each message goes to. The
 * topic's envelope (ids, times) and the variant's own fields are stored flat as the event's JSON data;
 * the event type is the variant's short name (`ExecutionStarted`), the event id the message's `event_id`.
 */
export const RECORDED_KINDS = {
  execution: { schema: 'ExecutionEvent', category: 'execution', streamKey: 'execution_id' },
  delayed: { schema: 'DelayedMessageEvent', category: 'delayed', streamKey: 'message_id' },
  notification: { schema: 'NotificationEvent', category: 'notification', streamKey: 'notification_id' },
} as const;

export type RecordedKind = keyof typeof RECORDED_KINDS;
export type RecordedSchema = (typeof RECORDED_KINDS)[RecordedKind]['schema'];

/**
 * The stream of one execution, delayed message or notification: `<category>-<key>`, with the key as it
 * is when it is ordinary and hashed otherwise (empty, control characters, too long; see `streamKey`), so
 * that every event the scheduler writes has a stream and two keys never share one.
 */
export function recordedStreamId(kind: RecordedKind, key: string): string {
  const { category } = RECORDED_KINDS[kind];
  return `${category}-${streamKey(category, key)}`;
}

export function executionStreamId(executionId: string): string {
  return recordedStreamId('execution', executionId);
}

/**
 * The key a recorded event's stream stands for, as stored: the stream id's tail, or for a hashed stream
 * the key field of the data (NUL characters escaped, see `escapeNul`).
 */
export function recordedKeyOf(kind: RecordedKind, event: Pick<RecordedEvent, 'streamId' | 'data'>): string {
  const tail = event.streamId.slice(RECORDED_KINDS[kind].category.length + 1);
  if (!isHashedStreamKey(tail)) return tail;
  const key = event.data[RECORDED_KINDS[kind].streamKey];
  return typeof key === 'string' ? key : tail;
}

export function kindOfCategory(category: string): RecordedKind | undefined {
  return (Object.keys(RECORDED_KINDS) as RecordedKind[]).find(
    (kind) => RECORDED_KINDS[kind].category === category,
  );
}

type EnvelopeValue = { event_id: string; event: object } & Record<string, unknown>;

/**
 * An event for the store from a decoded message of one of the recorded topics: into the stream of its
 * key (`recordedStreamId`, whatever the key holds), its text without NUL characters (`escapeNul`; the
 * metadata says which fields, and `toAvroValue` restores them).
 */
export function toStoredEvent(
  kind: RecordedKind,
  value: SchemaTypes[RecordedSchema],
  metadata: JsonObject,
): { streamId: string; event: EventData } {
  const { event, event_id: id, ...envelope } = value as unknown as EnvelopeValue;
  const branch = unionBranch(event as Record<string, unknown>);
  const key = envelope[RECORDED_KINDS[kind].streamKey];
  if (typeof key !== 'string') {
    throw new SchedulerError(
      'VALIDATION_FAILED',
      `a ${kind} event without ${RECORDED_KINDS[kind].streamKey}`,
      {
        details: { field: RECORDED_KINDS[kind].streamKey },
      },
    );
  }
  const stored = escapeNul({ ...envelope, ...(branch.value as JsonObject) }, metadata);
  return {
    streamId: recordedStreamId(kind, key),
    event: { id, type: shortName(branch.name), data: stored.data, metadata: stored.metadata },
  };
}

interface RootShape {
  envelope: ReadonlySet<string>;
  /** Short variant name → full name. */
  variants: ReadonlyMap<string, string>;
}

const shapes = new WeakMap<Contracts, Map<string, RootShape>>();

/** Envelope field names and variant names of a root schema, read from the newest schema version. */
function rootShape(contracts: Contracts, schema: RecordedSchema): RootShape {
  let bySchema = shapes.get(contracts);
  if (bySchema === undefined) {
    bySchema = new Map();
    shapes.set(contracts, bySchema);
  }
  const cached = bySchema.get(schema);
  if (cached !== undefined) return cached;
  const root = contracts.registry.latest(schema).type.schema() as {
    fields: { name: string; type: unknown }[];
  };
  const eventField = root.fields.find((field) => field.name === 'event');
  const members = Array.isArray(eventField?.type) ? (eventField.type as { name: string }[]) : [];
  const shape: RootShape = {
    envelope: new Set(root.fields.map((field) => field.name).filter((name) => name !== 'event')),
    variants: new Map(members.map((member) => [shortName(member.name), member.name])),
  };
  bySchema.set(schema, shape);
  return shape;
}

/**
 * The Avro value a recorded event came from (for re-publishing it): the envelope fields back at the
 * top, the rest as the variant named by the event type.
 */
export function toAvroValue<K extends RecordedKind>(
  contracts: Contracts,
  kind: K,
  recorded: RecordedEvent,
): SchemaTypes[(typeof RECORDED_KINDS)[K]['schema']] {
  const shape = rootShape(contracts, RECORDED_KINDS[kind].schema);
  const variant = shape.variants.get(recorded.type);
  if (variant === undefined) {
    throw new SchedulerError(
      'VALIDATION_FAILED',
      `${recorded.type} is not a variant of ${RECORDED_KINDS[kind].schema}`,
      {
        details: { stream: recorded.streamId, revision: recorded.revision.toString(), type: recorded.type },
      },
    );
  }
  const envelope: Record<string, unknown> = { event_id: recorded.id };
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(restoreNul(recorded.data, recorded.metadata))) {
    (shape.envelope.has(name) ? envelope : fields)[name] = value;
  }
  return {
    ...envelope,
    event: { [variant]: fields },
  } as unknown as SchemaTypes[(typeof RECORDED_KINDS)[K]['schema']];
}
