import type { Contracts } from '@openpenpal/contracts';
import { SchedulerError, isSchedulerError } from '@openpenpal/errors';
import { categoryOf, type EventStore, type RecordedEvent } from '@openpenpal/event-store';
import type { OutgoingMessage, Producer } from '@openpenpal/messaging';
import {
  RECORDED_KINDS,
  TASK_CATEGORY,
  definitionMessage,
  evolveTask,
  kindOfCategory,
  parseTaskEvent,
  toAvroValue,
  type TaskState,
} from '@openpenpal/task-definitions';

/** Which events of the stream: every bound is inclusive and optional; all given bounds apply. */
export interface RepublishRange {
  fromRevision?: bigint;
  toRevision?: bigint;
  fromPosition?: bigint;
  toPosition?: bigint;
  /** Recorded time (the store's `createdAt`), epoch ms. */
  fromTime?: number;
  toTime?: number;
}

export interface RepublishRequest {
  /** `task-<id>`, `execution-<id>`, `delayed-<id>` or `notification-<id>`. */
  streamId: string;
  /** Where to publish: a topic whose values have the stream's schema (see below). */
  topic: string;
  range?: RepublishRange;
}

export interface RepublishResult {
  published: number;
  /** Revisions of the first and last event published; null when the range held none. */
  firstRevision: bigint | null;
  lastRevision: bigint | null;
}

const PAGE = 500;
/** Marks a re-published message: the stream and revision it came from. */
export const REPLAY_HEADER = 'replay-of';

function inRange(event: RecordedEvent, range: RepublishRange): boolean {
  const time = event.createdAt.getTime();
  return (
    (range.fromRevision === undefined || event.revision >= range.fromRevision) &&
    (range.toRevision === undefined || event.revision <= range.toRevision) &&
    (range.fromPosition === undefined || event.position >= range.fromPosition) &&
    (range.toPosition === undefined || event.position <= range.toPosition) &&
    (range.fromTime === undefined || time >= range.fromTime) &&
    (range.toTime === undefined || time <= range.toTime)
  );
}

async function* pages(store: EventStore, streamId: string, from: bigint): AsyncGenerator<RecordedEvent[]> {
  for (let next = from; ;) {
    const page = await store.readStream(streamId, { fromRevision: next, maxCount: PAGE });
    if (page.length > 0) yield page;
    const last = page.at(-1);
    if (page.length < PAGE || last === undefined) return;
    next = last.revision + 1n;
  }
}

/**
 * Re-publishes recorded events of one stream, in stream order, for a consumer that must rebuild its
 * state. An execution, delayed-message or notification event goes out as the Avro value it was recorded
 * from (ExecutionEvent, DelayedMessageEvent, NotificationEvent), with its original message id, so a
 * consumer that still remembers it drops it. A task stream has no Avro event of its own: each change in
 * the range goes out as the definition right after it (TaskDefinition, a tombstone after TaskDeleted),
 * as the task-definitions topic carries it; run requests are left out (they are commands, not state).
 * Events of types the schema has no variant for (ExecutionReplayed links) are left out too.
 */
export async function republishStreamEvents(
  deps: { store: EventStore; producer: Producer; contracts: Contracts },
  request: RepublishRequest,
): Promise<RepublishResult> {
  const category = categoryOf(request.streamId);
  const kind = kindOfCategory(category);
  if (category !== TASK_CATEGORY && kind === undefined) {
    throw new SchedulerError(
      'VALIDATION_FAILED',
      `stream ${request.streamId} is not a task or recorded stream`,
      {
        details: { field: 'stream_id', problem: 'a task-, execution-, delayed- or notification- stream' },
      },
    );
  }
  const range = request.range ?? {};
  // A task definition is the fold of the whole stream: read it from the start even for a later range.
  const from = category === TASK_CATEGORY ? 0n : (range.fromRevision ?? 0n);
  const result: RepublishResult = { published: 0, firstRevision: null, lastRevision: null };
  let task: TaskState | undefined;
  for await (const page of pages(deps.store, request.streamId, from)) {
    const batch: { message: OutgoingMessage<never>; revision: bigint }[] = [];
    for (const event of page) {
      let value: unknown;
      let key: string;
      let messageId = event.id;
      if (kind === undefined) {
        const parsed = parseTaskEvent(event);
        if (parsed === undefined) continue;
        task = evolveTask(task, parsed);
        if (parsed.type === 'TaskRunRequested' || task === undefined || !inRange(event, range)) continue;
        ({ key, value } = definitionMessage(task));
      } else {
        if (!inRange(event, range)) continue;
        try {
          value = toAvroValue(deps.contracts, kind, event);
        } catch (error) {
          if (isSchedulerError(error) && error.code === 'VALIDATION_FAILED') continue;
          throw error;
        }
        key = String(event.data[RECORDED_KINDS[kind].streamKey]);
        const original = event.metadata.message_id;
        if (typeof original === 'string') messageId = original;
      }
      batch.push({
        message: {
          key,
          value: value as never,
          messageId,
          headers: { [REPLAY_HEADER]: `${event.streamId}@${event.revision.toString()}` },
        },
        revision: event.revision,
      });
    }
    if (batch.length === 0) continue;
    const schema = kind === undefined ? 'TaskDefinition' : RECORDED_KINDS[kind].schema;
    await deps.producer.send(
      { topic: request.topic, schema },
      batch.map((entry) => entry.message),
    );
    result.published += batch.length;
    result.firstRevision ??= batch[0]?.revision ?? null;
    result.lastRevision = batch.at(-1)?.revision ?? result.lastRevision;
  }
  return result;
}
