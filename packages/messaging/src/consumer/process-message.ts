import { SpanKind, type Span } from '@opentelemetry/api';
import type { Contracts, SchemaName, SchemaTypes } from '@openpenpal/contracts';
import {
  SchedulerError,
  errorCodeOf,
  isRetryable,
  isSchedulerError,
  toError,
  type ErrorCode,
} from '@openpenpal/errors';
import { ATTR, NON_RECORDING_SPAN, isTracingEnabled, startSpan } from '@openpenpal/telemetry';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import type { KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { sendToDeadLetterTopic } from './dead-letter.ts';
import { HEADERS, headerText, headersAsText } from './headers.ts';
import type { Producer, TopicBinding } from './producer.ts';
import { extractTraceContext } from './tracing.ts';

export interface ConsumedMessage<T> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: T;
  headers: Record<string, string>;
  /** The producer's logical message id: equal on duplicates, so handlers can drop them. */
  messageId: string | undefined;
  /** Broker timestamp, epoch ms. */
  timestamp: number;
  /** 1 on the first try, 2 on the first retry... */
  attempt: number;
}

export interface HandlerContext {
  /** Aborted when the consumer must stop before the handler finished (shutdown deadline). */
  signal: AbortSignal;
  span: Span;
}

export type MessageHandler<T> = (message: ConsumedMessage<T>, context: HandlerContext) => Promise<void>;

export interface Subscription<S extends SchemaName = SchemaName> {
  binding: TopicBinding<S>;
  handler: MessageHandler<SchemaTypes[S]>;
  /** Null values (deletes on a compacted topic). Without this, a null value is dead-lettered. */
  onTombstone?: MessageHandler<null>;
}

/** A subscription to any one schema's topic; build it with `subscription()` so the handler is typed. */
export type AnySubscription = { [S in SchemaName]: Subscription<S> }[SchemaName];

export function subscription<S extends SchemaName>(
  binding: TopicBinding<S>,
  handler: MessageHandler<SchemaTypes[S]>,
  onTombstone?: MessageHandler<null>,
): AnySubscription {
  const built: Subscription<S> = { binding, handler, ...(onTombstone ? { onTombstone } : {}) };
  return built as unknown as AnySubscription;
}

export interface RetryPolicy {
  /** Tries per message, the first included, before it is dead-lettered. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /**
   * Error codes that are not the message's fault — a database or Redis outage. A message failing
   * with one is retried without limit (backoff capped at maxDelayMs) until it succeeds or the
   * consumer shuts down, holding its partition meanwhile: the messages wait in Kafka instead of
   * filling the DLQ. Default: DEPENDENCY_UNAVAILABLE.
   */
  blockingErrorCodes: readonly ErrorCode[];
}

export type MessageOutcome = 'processed' | 'dead_lettered';

export interface ConsumerObserver {
  /** A try failed and the message will be tried again (`blocking`: a dependency outage). */
  onRetry?(event: { topic: string; attempts: number; errorCode: string; blocking: boolean }): void;
  onMessage?(event: {
    topic: string;
    outcome: MessageOutcome;
    attempts: number;
    durationMs: number;
    errorCode?: string;
  }): void;
}

export interface ProcessDependencies {
  contracts: Contracts;
  producer: Producer;
  logger: Logger;
  groupId: string;
  retryPolicy: RetryPolicy;
  observer: ConsumerObserver | undefined;
  now: () => number;
}

/** Thrown when shutdown interrupts a message: it is neither done nor dead-lettered, so not committed. */
export class ProcessingAborted extends Error {
  constructor() {
    super('processing aborted by shutdown');
    this.name = 'ProcessingAborted';
  }
}

/** Delays between tries: exponential with decorrelated jitter (cockatiel's generator). */
export function buildBackoff(policy: RetryPolicy): ExponentialBackoff<unknown> {
  return new ExponentialBackoff({ initialDelay: policy.initialDelayMs, maxDelay: policy.maxDelayMs });
}

function decode(
  deps: ProcessDependencies,
  subscription: AnySubscription,
  message: KafkaMessage,
): { value: unknown; tombstone: boolean } {
  if (message.value === null) {
    if (subscription.onTombstone) return { value: null, tombstone: true };
    throw new SchedulerError(
      'DECODE_FAILED',
      `null value on ${subscription.binding.topic}, which takes no tombstones`,
    );
  }
  return { value: deps.contracts.codec(subscription.binding.schema).decode(message.value), tombstone: false };
}

/**
 * Decodes one message, runs its handler with retries and backoff, and dead-letters it when it
 * cannot be decoded, fails with a non-retryable error, or runs out of tries. Resolves when the
 * message is done with (so its offset may be committed); rejects when it is not (DLQ write
 * failed, shutdown) so the partition does not move past it.
 */
export function processMessage(
  deps: ProcessDependencies,
  subscription: AnySubscription,
  backoffFactory: ExponentialBackoff<unknown>,
  partition: number,
  message: KafkaMessage,
  signal: AbortSignal,
  tracing: boolean = isTracingEnabled(),
): Promise<MessageOutcome> {
  if (!tracing) {
    return handleMessage(deps, subscription, backoffFactory, partition, message, signal, NON_RECORDING_SPAN);
  }
  const run = (span: Span) =>
    handleMessage(deps, subscription, backoffFactory, partition, message, signal, span);
  const { topic } = subscription.binding;
  return startSpan(`${topic} process`, run, {
    kind: SpanKind.CONSUMER,
    parent: extractTraceContext(message.headers),
    attributes: {
      [ATTR.messagingSystem]: 'kafka',
      [ATTR.messagingOperation]: 'process',
      [ATTR.messagingDestination]: topic,
      [ATTR.messagingConsumerGroup]: deps.groupId,
      [ATTR.messagingKafkaPartition]: String(partition),
      [ATTR.messagingKafkaOffset]: message.offset,
      ...(message.key ? { [ATTR.messagingKafkaKey]: message.key.toString() } : {}),
    },
  });
}

const untracedContexts = new WeakMap<AbortSignal, HandlerContext>();

/** While tracing is off every handler context of one consumer is the same: share it. */
function untracedContext(signal: AbortSignal): HandlerContext {
  let context = untracedContexts.get(signal);
  if (!context) {
    context = Object.freeze({ signal, span: NON_RECORDING_SPAN });
    untracedContexts.set(signal, context);
  }
  return context;
}

// A call, not a property read: TypeScript would keep a narrowed `signal.aborted` across awaits.
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/**
 * The handler's view of a message: one object per message, its attempt bumped in place on
 * retries. Key, headers and message id are decoded from bytes only when a handler reads them;
 * prototype getters keep the object's shape fast (an object literal with accessors is not).
 */
class KafkaConsumedMessage implements ConsumedMessage<unknown> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly value: unknown;
  attempt = 0;
  readonly #raw: KafkaMessage;
  #headers: Record<string, string> | undefined;

  constructor(topic: string, partition: number, message: KafkaMessage, value: unknown) {
    this.topic = topic;
    this.partition = partition;
    this.offset = message.offset;
    this.value = value;
    this.#raw = message;
  }

  get key(): string | null {
    return this.#raw.key?.toString() ?? null;
  }

  get headers(): Record<string, string> {
    return (this.#headers ??= headersAsText(this.#raw.headers));
  }

  get messageId(): string | undefined {
    return this.#headers
      ? this.#headers[HEADERS.messageId]
      : headerText(this.#raw.headers, HEADERS.messageId);
  }

  get timestamp(): number {
    return Number(this.#raw.timestamp);
  }
}

async function handleMessage(
  deps: ProcessDependencies,
  subscription: AnySubscription,
  backoffFactory: ExponentialBackoff<unknown>,
  partition: number,
  message: KafkaMessage,
  signal: AbortSignal,
  span: Span,
): Promise<MessageOutcome> {
  const { topic } = subscription.binding;
  const started = deps.observer ? deps.now() : 0;
  let attempts = 0;
  try {
    const { value, tombstone } = decode(deps, subscription, message);
    const handler = (tombstone ? subscription.onTombstone : subscription.handler) as MessageHandler<unknown>;
    const consumed = new KafkaConsumedMessage(topic, partition, message, value);
    const context: HandlerContext = span === NON_RECORDING_SPAN ? untracedContext(signal) : { signal, span };
    let backoff: IBackoff<unknown> | undefined;
    for (;;) {
      if (isAborted(signal)) throw new ProcessingAborted();
      attempts += 1;
      consumed.attempt = attempts;
      try {
        await handler(consumed, context);
        break;
      } catch (error) {
        if (isAborted(signal)) throw new ProcessingAborted();
        span.setAttribute(ATTR.attempt, attempts);
        deps.logger.warn(
          { err: toError(error), topic, partition, offset: message.offset, attempt: attempts },
          'handler failed',
        );
        const blocking = isSchedulerError(error) && deps.retryPolicy.blockingErrorCodes.includes(error.code);
        if (!isRetryable(error) || (attempts >= deps.retryPolicy.attempts && !blocking)) throw error;
        deps.observer?.onRetry?.({ topic, attempts, errorCode: errorCodeOf(error), blocking });
        backoff = backoff ? backoff.next(undefined) : backoffFactory.next();
        await sleep(backoff.duration, undefined, { signal }).catch(() => {
          throw new ProcessingAborted();
        });
      }
    }
    deps.observer?.onMessage?.({
      topic,
      outcome: 'processed',
      attempts,
      durationMs: deps.now() - started,
    });
    return 'processed';
  } catch (error) {
    if (error instanceof ProcessingAborted || isAborted(signal)) throw new ProcessingAborted();
    const dlq = await sendToDeadLetterTopic(
      deps.producer,
      { topic, partition, message, groupId: deps.groupId, error, attempts: Math.max(attempts, 1) },
      deps.now(),
    );
    const errorCode = errorCodeOf(error);
    span.setAttribute(ATTR.errorCode, errorCode);
    deps.logger.error(
      { err: toError(error), topic, partition, offset: message.offset, attempts, dlq, errorCode },
      'message dead-lettered',
    );
    deps.observer?.onMessage?.({
      topic,
      outcome: 'dead_lettered',
      attempts,
      durationMs: deps.now() - started,
      errorCode,
    });
    return 'dead_lettered';
  }
}
