import { randomUUID } from 'node:crypto';
import type {
  CancelOutcome as EventCancelOutcome,
  DelayedMessageEvent,
  ScheduleOutcome as EventScheduleOutcome,
} from '@openpenpal/contracts';
import { SchedulerError, isSchedulerError, toError } from '@openpenpal/errors';
import type { OutgoingMessage, Producer, RawMessage, TopicBinding } from '@openpenpal/messaging';
import {
  ATTR,
  ROOT_CONTEXT,
  SpanKind,
  activeContext,
  isTracingEnabled,
  startSpan,
  type Context,
} from '@openpenpal/telemetry';
import type { CancelOutcome, ScheduleOutcome } from './store/index.ts';

type EventBody = DelayedMessageEvent['event'];

/** Most events one send carries; a bigger backlog goes out in several sends. */
const MAX_EVENTS_PER_SEND = 5_000;

/**
 * The store's outcomes in the contract's words (DelayedMessageEvent v2). A schedule that met a
 * publish under way (`in_flight`, nothing changed) is `duplicate`; a cancel that met one says
 * `in_flight` — `already_fired` is kept for messages Kafka acknowledged.
 */
export function scheduleOutcomeForEvent(outcome: ScheduleOutcome): EventScheduleOutcome {
  switch (outcome) {
    case 'scheduled':
    case 'rescheduled':
    case 'duplicate':
    case 'already_fired':
      return outcome;
    case 'in_flight':
      return 'duplicate';
  }
}

/** `already_fired` means published; a cancel that met a publish under way says `in_flight`. */
export function cancelOutcomeForEvent(outcome: CancelOutcome): EventCancelOutcome {
  return outcome;
}

export function delayEvent(
  messageId: string,
  requestId: string | null,
  occurredAt: number,
  event: EventBody,
): DelayedMessageEvent {
  return {
    event_id: randomUUID(),
    message_id: messageId,
    request_id: requestId,
    occurred_at: occurredAt,
    event,
  };
}

export interface EventPublisher {
  /**
   * Resolves once Kafka acknowledged these events (acks=all), sent together with whatever else is
   * waiting. Each event goes out in the trace of `contexts[i]` when given (the dispatcher passes
   * each message's dispatch span), else in the trace active at this call, although the send itself
   * is shared with other callers' events.
   */
  publish(events: readonly DelayedMessageEvent[], contexts?: readonly Context[]): Promise<void>;
  /** Waits for what is queued, then refuses new events; safe to call twice. */
  close(): Promise<void>;
}

/**
 * A failed event send is Kafka's trouble, never the request's: DEPENDENCY_UNAVAILABLE makes the
 * consumer hold the partition and retry instead of dead-lettering a valid request.
 */
function unavailable(error: unknown): SchedulerError {
  if (isSchedulerError(error) && error.code === 'SHUTTING_DOWN') return error;
  const cause = toError(error);
  return new SchedulerError('DEPENDENCY_UNAVAILABLE', `delay events not sent: ${cause.message}`, { cause });
}

type EventMessage = OutgoingMessage<DelayedMessageEvent>;

/**
 * One send of events that belong to different traces: a producer span per trace (per distinct
 * context), each a child of its context, and every message carries the context of its trace's
 * span, so whoever consumes an event (the recorder) continues the trace of the message it is about.
 * The spans end when the shared send settles; the messages keep their order.
 */
async function sendTraced(
  producer: Producer,
  binding: TopicBinding<'DelayedMessageEvent'>,
  messages: readonly EventMessage[],
  batch: readonly Waiting[],
): Promise<void> {
  const groups = new Map<Context, number[]>();
  let index = 0;
  for (const waiting of batch) {
    for (let i = 0; i < waiting.events.length; i += 1) {
      const ctx = waiting.contexts?.[i] ?? ROOT_CONTEXT;
      const group = groups.get(ctx);
      if (group) group.push(index);
      else groups.set(ctx, [index]);
      index += 1;
    }
  }
  const encoded: RawMessage[] = new Array<RawMessage>(messages.length);
  let settle!: (error?: Error) => void;
  const sent = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error));
  });
  // startSpan runs each callback synchronously up to its first await, so every message is encoded
  // (with its span's trace context) before the send starts.
  const spans = [...groups].map(([parent, indexes]) =>
    startSpan(
      `${binding.topic} publish`,
      async (span) => {
        span.setAttribute(ATTR.messagingBatchSize, indexes.length);
        const batchOf = producer.encode(
          binding,
          indexes.map((i) => messages[i] as EventMessage),
        );
        indexes.forEach((i, n) => (encoded[i] = batchOf.messages[n] as RawMessage));
        await sent;
      },
      {
        parent,
        kind: SpanKind.PRODUCER,
        attributes: {
          [ATTR.messagingSystem]: 'kafka',
          [ATTR.messagingOperation]: 'publish',
          [ATTR.messagingDestination]: binding.topic,
          [ATTR.schema]: binding.schema,
        },
      },
    ),
  );
  try {
    await producer.sendEncoded([{ topic: binding.topic, messages: encoded }]);
    settle();
  } catch (error) {
    settle(toError(error));
    throw error;
  } finally {
    await Promise.allSettled(spans);
  }
}

interface Waiting {
  events: readonly DelayedMessageEvent[];
  /** Per event, the trace it belongs to; none while tracing is off. */
  contexts: readonly Context[] | undefined;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Sends delay events on the events topic, coalescing: each producer has one send in flight, and
 * everything published meanwhile waits and goes out together in the next free producer's send.
 * Callers from many partitions (or a dispatcher's batches) thus share Kafka round trips instead of
 * queueing one request each, without a linger timer adding latency; a second producer (a second
 * connection) lets an event go out while a send is still in flight. Events of one caller keep their
 * order only while that caller awaits each publish (the intake does, per partition).
 */
export function createEventPublisher(options: {
  producers: readonly Producer[];
  binding: TopicBinding<'DelayedMessageEvent'>;
}): EventPublisher {
  const { producers, binding } = options;
  let queue: Waiting[] = [];
  const sending = new Map<Producer, Promise<void>>();
  let closed = false;

  const takeBatch = (): Waiting[] => {
    const batch: Waiting[] = [];
    let count = 0;
    while (queue.length > 0) {
      const next = queue[0];
      if (!next || (batch.length > 0 && count + next.events.length > MAX_EVENTS_PER_SEND)) break;
      batch.push(next);
      count += next.events.length;
      queue.shift();
    }
    return batch;
  };

  const drain = async (producer: Producer): Promise<void> => {
    while (queue.length > 0) {
      const batch = takeBatch();
      const messages = batch.flatMap((waiting) =>
        waiting.events.map((event) => ({ key: event.message_id, value: event, messageId: event.event_id })),
      );
      try {
        if (batch.some((waiting) => waiting.contexts !== undefined)) {
          await sendTraced(producer, binding, messages, batch);
        } else {
          await producer.send(binding, messages);
        }
        for (const waiting of batch) waiting.resolve();
      } catch (error) {
        const failure = unavailable(error);
        for (const waiting of batch) waiting.reject(failure);
      }
    }
  };

  const kick = (): void => {
    for (const producer of producers) {
      if (queue.length === 0) return;
      if (sending.has(producer)) continue;
      sending.set(
        producer,
        drain(producer).finally(() => {
          sending.delete(producer);
          // Something may have arrived between the last check and this cleanup.
          kick();
        }),
      );
    }
  };

  return {
    publish: (events, contexts) => {
      if (closed) {
        return Promise.reject(new SchedulerError('SHUTTING_DOWN', 'delay event publisher is closed'));
      }
      if (events.length === 0) return Promise.resolve();
      let traced = contexts;
      if (!traced && isTracingEnabled()) {
        const active = activeContext();
        traced = events.map(() => active);
      }
      return new Promise<void>((resolve, reject) => {
        queue.push({ events, contexts: traced, resolve, reject });
        kick();
      });
    },
    close: async () => {
      closed = true;
      while (sending.size > 0) await Promise.allSettled([...sending.values()]);
      queue = [];
    },
  };
}
