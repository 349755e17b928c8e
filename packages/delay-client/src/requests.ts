import { randomUUID } from 'node:crypto';
import type {
  Contracts,
  DelayRequest,
  IfPending,
  SchemaName,
  SchemaTypes,
  ScheduleDelayedMessage,
} from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import { HEADERS, injectTraceContext, type OutgoingMessage, type TopicBinding } from '@openpenpal/messaging';

/** The delay queue refuses longer ids (its `MAX_ID_LENGTH`): they are Redis hash fields. */
export const MAX_MESSAGE_ID_LENGTH = 256;

/**
 * The earliest due time taken, 2001-09-09T01:46:40Z (10^12 ms). Every epoch-millisecond time since
 * then has 13 digits, and every epoch-second time until the year 33658 has fewer, so a smaller
 * value is almost surely seconds passed where milliseconds belong.
 */
export const MIN_DUE_AT_MS = 1_000_000_000_000;

/** The delay queue's default `DELAY_QUEUE_MAX_HORIZON_MS` (3,660 days): it rejects later due times. */
export const DEFAULT_MAX_HORIZON_MS = 3_660 * 24 * 60 * 60 * 1000;

const IF_PENDING: readonly IfPending[] = ['keep', 'replace'];
// C0 and C1 control characters and DEL: invisible in logs and keys, and a sign of a broken id.
const CONTROL_CHARACTERS = /\p{Cc}/u;

/** Where and what the delay queue publishes when the message falls due. */
export interface DelayTarget<S extends SchemaName> {
  /** The target topic and its value schema; the value is encoded with that schema now. */
  binding: TopicBinding<S>;
  /** Kafka key of the published message; null publishes it without a key. */
  key: string | null;
  value: SchemaTypes[S];
  /** Extra headers to publish with; `schema` and the caller's trace context are added. */
  headers?: Readonly<Record<string, string | Buffer>>;
}

export interface ScheduleInput<S extends SchemaName> {
  /** The delayed-message id, derived from the business key (`future_letter_unlock:<letterId>`). */
  messageId: string;
  /** When to publish: epoch milliseconds or a Date. A past time publishes at once. */
  dueAt: number | Date;
  target: DelayTarget<S>;
  /** What to do when the id is pending or being published (default keep; see DelayRequest v2). */
  ifPending?: IfPending;
}

export interface CancelInput {
  messageId: string;
  /** Why the message is no longer wanted; required, so every cancel in the history says why. */
  reason: string;
}

export interface RequestContext {
  contracts: Contracts;
  source: string;
  now: number;
  maxHorizonMs: number;
}

function invalid(field: string, message: string, details: Record<string, unknown> = {}): SchedulerError {
  return new SchedulerError('VALIDATION_FAILED', message, { details: { field, ...details } });
}

function checkMessageId(messageId: unknown): string {
  if (typeof messageId !== 'string' || messageId.trim().length === 0) {
    throw invalid('messageId', 'messageId must be a non-empty string');
  }
  if (messageId.length > MAX_MESSAGE_ID_LENGTH) {
    throw invalid(
      'messageId',
      `messageId has ${messageId.length} characters, more than ${MAX_MESSAGE_ID_LENGTH}`,
      {
        length: messageId.length,
      },
    );
  }
  if (CONTROL_CHARACTERS.test(messageId)) {
    throw invalid('messageId', 'messageId must not contain control characters', {
      messageId: JSON.stringify(messageId),
    });
  }
  return messageId;
}

function checkDueAt(dueAt: unknown, now: number, maxHorizonMs: number): number {
  const ms = dueAt instanceof Date ? dueAt.getTime() : dueAt;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms)) {
    throw invalid('dueAt', 'dueAt must be a whole number of epoch milliseconds (or a valid Date)', {
      dueAt: String(dueAt),
    });
  }
  if (ms < MIN_DUE_AT_MS) {
    throw invalid('dueAt', `dueAt ${ms} lies before 2001-09-09: epoch seconds instead of milliseconds?`, {
      dueAt: ms,
    });
  }
  if (ms > now + maxHorizonMs) {
    throw invalid('dueAt', `dueAt ${new Date(ms).toISOString()} lies more than ${maxHorizonMs} ms ahead`, {
      dueAt: ms,
      maxHorizonMs,
    });
  }
  return ms;
}

function checkIfPending(ifPending: unknown): IfPending {
  if (ifPending === undefined) return 'keep';
  const found = IF_PENDING.find((mode) => mode === ifPending);
  if (!found)
    throw invalid('ifPending', `ifPending must be keep or replace, got ${JSON.stringify(ifPending)}`);
  return found;
}

/**
 * The delayed message's headers: the caller's, the value's schema name, and the W3C trace context
 * active now (when a propagator is registered), so the trace continues after the delay. A
 * `traceparent` the caller sets explicitly wins.
 */
function targetHeaders(target: DelayTarget<SchemaName>): Record<string, Buffer> {
  const carrier: Record<string, string | Buffer> = { [HEADERS.schema]: target.binding.schema };
  injectTraceContext(carrier);
  for (const [name, value] of Object.entries(target.headers ?? {})) {
    if (name === HEADERS.messageId) {
      throw invalid('target.headers', 'message-id is set by the delay queue (to the messageId)', {
        header: name,
      });
    }
    carrier[name] = value;
  }
  const headers: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(carrier)) {
    headers[name] = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
  }
  return headers;
}

function request(context: RequestContext, event: DelayRequest['event']): DelayRequest {
  return { request_id: randomUUID(), requested_at: context.now, source: context.source, event };
}

/**
 * The Kafka message of a request: keyed by the delayed-message id, so the schedule and cancel of
 * one id stay in order on one partition; its message-id is the request id, which a re-send of the
 * same request repeats.
 */
function outgoing(messageId: string, value: DelayRequest): OutgoingMessage<DelayRequest> {
  return { key: messageId, value, messageId: value.request_id };
}

/** Validates a schedule, encodes the target value and builds the request; throws VALIDATION_FAILED. */
export function scheduleMessage<S extends SchemaName>(
  input: ScheduleInput<S>,
  context: RequestContext,
): OutgoingMessage<DelayRequest> {
  const messageId = checkMessageId(input.messageId);
  const dueAt = checkDueAt(input.dueAt, context.now, context.maxHorizonMs);
  const ifPending = checkIfPending(input.ifPending);
  const { binding } = input.target;
  if (typeof binding.topic !== 'string' || binding.topic.trim().length === 0) {
    throw invalid('target.binding.topic', 'the target topic must be a non-empty string');
  }
  const schedule: ScheduleDelayedMessage = {
    message_id: messageId,
    due_at: dueAt,
    target_topic: binding.topic,
    target_key: input.target.key,
    headers: targetHeaders(input.target),
    // Encoded now, with the writer schema this caller was built with, like any producer's value.
    payload: context.contracts.codec(binding.schema).encode(input.target.value),
    if_pending: ifPending,
  };
  return outgoing(
    messageId,
    request(context, { 'org.openpenpal.scheduler.ScheduleDelayedMessage': schedule }),
  );
}

/** Validates a cancel and builds the request; throws VALIDATION_FAILED. */
export function cancelMessage(input: CancelInput, context: RequestContext): OutgoingMessage<DelayRequest> {
  const messageId = checkMessageId(input.messageId);
  if (typeof input.reason !== 'string' || input.reason.trim().length === 0) {
    throw invalid('reason', 'a cancel needs a reason (it is kept in the message history)');
  }
  return outgoing(
    messageId,
    request(context, {
      'org.openpenpal.scheduler.CancelDelayedMessage': { message_id: messageId, reason: input.reason },
    }),
  );
}
