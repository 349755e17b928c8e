import {
  unionBranch,
  type CancelDelayedMessage,
  type DelayRequest,
  type ScheduleDelayedMessage,
} from '@openpenpal/contracts';
import { isSchedulerError, type SchedulerError } from '@openpenpal/errors';
import { HEADERS, injectTraceContext, type MessageHandler } from '@openpenpal/messaging';
import { isTracingEnabled } from '@openpenpal/telemetry';
import type { Logger } from 'pino';
import { cancelOutcomeForEvent, delayEvent, scheduleOutcomeForEvent, type EventPublisher } from './events.ts';
import type { DelayQueueMetrics } from './metrics.ts';
import { encodeRecord } from './record.ts';
import type { Clock, DelayStore, IfPending } from './store/index.ts';
import type { RequestValidator } from './validation.ts';

export interface IntakeDependencies {
  store: DelayStore;
  events: EventPublisher;
  validator: RequestValidator;
  clock: Clock;
  metrics: DelayQueueMetrics;
  logger: Logger;
  /** Told each new pending due time, so a sleeping dispatcher in this process wakes early. */
  onScheduled(dueAt: number): void;
}

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

/**
 * The handler for `scheduler.delay-requests`. It resolves only after Redis accepted the request
 * and its event is on the events topic, so the consumer commits the offset only then. Invalid
 * requests throw a non-retryable error (the consumer dead-letters them) after their
 * DelayedMessageRejected event; an unreachable Redis or Kafka throws DEPENDENCY_UNAVAILABLE, which
 * holds the partition until it is back.
 */
export function createIntakeHandler(deps: IntakeDependencies): MessageHandler<DelayRequest> {
  const { store, events, validator, clock, metrics, logger } = deps;

  const reject = async (request: DelayRequest, messageId: string, error: SchedulerError): Promise<never> => {
    metrics.rejected.inc({ code: error.code });
    logger.warn({ err: error, messageId, requestId: request.request_id }, 'delay request rejected');
    await events.publish([
      delayEvent(messageId, request.request_id, clock.now(), {
        'org.openpenpal.scheduler.DelayedMessageRejected': { error_code: error.code, reason: error.message },
      }),
    ]);
    throw error;
  };

  const failed = (operation: string, error: unknown): unknown => {
    metrics.redisErrors.inc({ operation });
    return error;
  };

  const schedule = async (request: DelayRequest, value: ScheduleDelayedMessage): Promise<void> => {
    try {
      validator.checkSchedule(value, clock.now());
    } catch (error) {
      if (isRejection(error)) return reject(request, value.message_id, error);
      throw error;
    }
    // v1 requests (and v2 ones that leave it null) keep what is pending.
    const ifPending = value.if_pending ?? 'keep';
    const record = encodeRecord(
      {
        topic: value.target_topic,
        key: value.target_key ?? null,
        headers: headersWithTrace(value.headers, ifPending),
        payload: value.payload,
      },
      NOT_STORED,
    );
    let outcome;
    try {
      outcome = await store.schedule({ id: value.message_id, dueAt: value.due_at, record, ifPending });
    } catch (error) {
      if (isRejection(error)) return reject(request, value.message_id, error);
      throw failed('schedule', error);
    }
    metrics.requests.inc({ kind: 'schedule', outcome });
    if (outcome === 'scheduled' || outcome === 'rescheduled') deps.onScheduled(value.due_at);
    await events.publish([
      delayEvent(value.message_id, request.request_id, clock.now(), {
        'org.openpenpal.scheduler.DelayedMessageScheduled': {
          due_at: value.due_at,
          target_topic: value.target_topic,
          schedule_outcome: scheduleOutcomeForEvent(outcome),
        },
      }),
    ]);
  };

  const cancel = async (request: DelayRequest, value: CancelDelayedMessage): Promise<void> => {
    try {
      validator.checkMessageId(value.message_id);
    } catch (error) {
      if (isRejection(error)) return reject(request, value.message_id, error);
      throw error;
    }
    let outcome;
    try {
      outcome = await store.cancel(value.message_id);
    } catch (error) {
      throw failed('cancel', error);
    }
    metrics.requests.inc({ kind: 'cancel', outcome });
    await events.publish([
      delayEvent(value.message_id, request.request_id, clock.now(), {
        'org.openpenpal.scheduler.DelayedMessageCancelled': {
          cancel_outcome: cancelOutcomeForEvent(outcome),
          reason: value.reason,
        },
      }),
    ]);
  };

  return async (message) => {
    const request = message.value;
    const branch = unionBranch(request.event);
    switch (branch.name) {
      case 'org.openpenpal.scheduler.ScheduleDelayedMessage':
        return schedule(request, branch.value);
      case 'org.openpenpal.scheduler.CancelDelayedMessage':
        return cancel(request, branch.value);
    }
  };
}
