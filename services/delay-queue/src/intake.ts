import {
  unionBranch,
  type CancelDelayedMessage,
  type DelayRequest,
  type DelayedMessageEvent,
  type ScheduleDelayedMessage,
} from '@openpenpal/contracts';
import { isSchedulerError, type SchedulerError } from '@openpenpal/errors';
import {
  HEADERS,
  injectTraceContext,
  type BatchHandler,
  type BatchResult,
  type ConsumedMessage,
} from '@openpenpal/messaging';
import { isTracingEnabled } from '@openpenpal/telemetry';
import type { Logger } from 'pino';
import { cancelOutcomeForEvent, delayEvent, scheduleOutcomeForEvent, type EventPublisher } from './events.ts';
import type { DelayQueueMetrics } from './metrics.ts';
import { encodeRecord } from './record.ts';
import type { Clock, DelayStore, IfPending, StoreRequest, StoreRequestResult } from './store/index.ts';
import type { RequestValidator } from './validation.ts';

export interface IntakeDependencies {
  /** The store the requests go to (the sharded store routes each to its id's shard). */
  store: Pick<DelayStore, 'applyBatch'>;
  events: EventPublisher;
  validator: RequestValidator;
  clock: Clock;
  metrics: DelayQueueMetrics;
  logger: Logger;
  /**
   * Told the newly pending due times of a batch with their ids, so the sleeping dispatcher of each
   * one's shard in this process wakes early.
   */
  onScheduled(items: readonly { dueAt: number; id: string }[]): void;
}

type Message = ConsumedMessage<DelayRequest>;

/** The dispatcher writes `message-id` itself (the delayed-message id), so it is not stored. */
const NOT_STORED = new Set<string>([HEADERS.messageId]);
const REJECTION_CODES = new Set(['VALIDATION_FAILED', 'UNKNOWN_TOPIC', 'PAYLOAD_TOO_LARGE']);

function isRejection(error: unknown): error is SchedulerError {
  return isSchedulerError(error) && REJECTION_CODES.has(error.code);
}

/**
 * The requester's headers, plus the trace context of this consumer span when the requester sent
 * none, so the trace still runs requester → delay queue → target consumer. Not for a replace: it
 * compares the stored bytes with what is pending, and a redelivered request must not differ from
 * its first delivery (in flight, a difference would publish the message a second time).
 */
function headersWithTrace(headers: Record<string, Buffer>, ifPending: IfPending): Record<string, Buffer> {
  if (ifPending === 'replace' || !isTracingEnabled() || headers.traceparent !== undefined) return headers;
  const carrier: Record<string, string | Buffer> = {};
  injectTraceContext(carrier);
  const out = { ...headers };
  for (const [name, value] of Object.entries(carrier)) out[name] = Buffer.from(value);
  return out;
}

/** One request of a batch on its way: what goes to the store, or why it is refused. */
type Prepared =
  | { message: Message; request: StoreRequest; value: ScheduleDelayedMessage | CancelDelayedMessage }
  | { message: Message; refused: SchedulerError; messageId: string };

/** Checks one request and builds its store request; a rejection is returned, anything else thrown. */
function prepare(validator: RequestValidator, message: Message, now: number): Prepared {
  const branch = unionBranch(message.value.event);
  const value = branch.value;
  try {
    if (branch.name === 'org.openpenpal.scheduler.CancelDelayedMessage') {
      validator.checkMessageId(branch.value.message_id);
      return { message, value, request: { kind: 'cancel', id: branch.value.message_id } };
    }
    const schedule = branch.value;
    validator.checkSchedule(schedule, now);
    // v1 requests (and v2 ones that leave it null) keep what is pending.
    const ifPending = schedule.if_pending ?? 'keep';
    const record = encodeRecord(
      {
        topic: schedule.target_topic,
        key: schedule.target_key ?? null,
        headers: headersWithTrace(schedule.headers, ifPending),
        payload: schedule.payload,
      },
      NOT_STORED,
    );
    return {
      message,
      value,
      request: {
        kind: 'schedule',
        item: { id: schedule.message_id, dueAt: schedule.due_at, record, ifPending },
      },
    };
  } catch (error) {
    if (isRejection(error)) return { message, refused: error, messageId: value.message_id };
    throw error;
  }
}

/** The event of a request the store took: Scheduled or Cancelled with the store's outcome. */
function outcomeEvent(
  message: Message,
  value: ScheduleDelayedMessage | CancelDelayedMessage,
  result: Exclude<StoreRequestResult, { kind: 'invalid' }>,
  now: number,
): DelayedMessageEvent {
  const requestId = message.value.request_id;
  if (result.kind === 'cancel') {
    const cancel = value as CancelDelayedMessage;
    return delayEvent(cancel.message_id, requestId, now, {
      'org.openpenpal.scheduler.DelayedMessageCancelled': {
        cancel_outcome: cancelOutcomeForEvent(result.outcome),
        reason: cancel.reason,
      },
    });
  }
  const schedule = value as ScheduleDelayedMessage;
  return delayEvent(schedule.message_id, requestId, now, {
    'org.openpenpal.scheduler.DelayedMessageScheduled': {
      due_at: schedule.due_at,
      target_topic: schedule.target_topic,
      schedule_outcome: scheduleOutcomeForEvent(result.outcome),
    },
  });
}

/**
 * The batch handler for `scheduler.delay-requests`: per fetched slice of a partition, one store
 * call (one Lua script run applying every request in order, so a schedule then a cancel of one id
 * ends cancelled), one event send carrying the slice's events in order, and — by the consumer
 * runner — one commit. It resolves only after Redis took the requests and their events are on the
 * events topic. Invalid requests get their DelayedMessageRejected event in the same send and are
 * returned as rejected, so the runner dead-letters them one by one while the rest go on. An
 * unreachable Redis or Kafka throws DEPENDENCY_UNAVAILABLE: the runner holds the partition and
 * retries the whole slice, which is safe because every request is idempotent per id.
 */
export function createIntakeBatchHandler(deps: IntakeDependencies): BatchHandler<DelayRequest> {
  const { store, events, validator, clock, metrics, logger } = deps;

  return async (messages) => {
    const prepared = messages.map((message) => prepare(validator, message, clock.now()));
    const toStore = prepared.flatMap((entry) => ('request' in entry ? [entry.request] : []));
    let results: StoreRequestResult[] = [];
    if (toStore.length > 0) {
      try {
        results = await store.applyBatch(toStore);
      } catch (error) {
        metrics.redisErrors.inc({ operation: 'applyBatch' });
        throw error;
      }
    }

    const now = clock.now();
    const out: DelayedMessageEvent[] = [];
    const rejected: NonNullable<BatchResult<DelayRequest>['rejected']>[number][] = [];
    const scheduled: { dueAt: number; id: string }[] = [];
    let next = 0;
    for (const entry of prepared) {
      let refused: SchedulerError;
      let messageId: string;
      if ('request' in entry) {
        const result = results[next++];
        if (!result) throw new Error('delay store returned fewer results than requests');
        if (result.kind !== 'invalid') {
          metrics.requests.inc({ kind: result.kind, outcome: result.outcome });
          if (
            result.kind === 'schedule' &&
            (result.outcome === 'scheduled' || result.outcome === 'rescheduled')
          ) {
            const schedule = entry.value as ScheduleDelayedMessage;
            scheduled.push({ dueAt: schedule.due_at, id: schedule.message_id });
          }
          out.push(outcomeEvent(entry.message, entry.value, result, now));
          continue;
        }
        refused = result.error;
        messageId = entry.value.message_id;
      } else {
        ({ refused, messageId } = entry);
      }
      metrics.rejected.inc({ code: refused.code });
      logger.warn(
        { err: refused, messageId, requestId: entry.message.value.request_id },
        'delay request rejected',
      );
      out.push(
        delayEvent(messageId, entry.message.value.request_id, now, {
          'org.openpenpal.scheduler.DelayedMessageRejected': {
            error_code: refused.code,
            reason: refused.message,
          },
        }),
      );
      rejected.push({ message: entry.message, error: refused });
    }
    if (scheduled.length > 0) deps.onScheduled(scheduled);
    await events.publish(out);
    return rejected.length > 0 ? { rejected } : undefined;
  };
}
