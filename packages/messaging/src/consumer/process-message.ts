import { SpanKind, type Span } from '@opentelemetry/api';
import type { Contracts } from '@openpenpal/contracts';
import { SchedulerError, errorCodeOf, isRetryable, isSchedulerError, toError } from '@openpenpal/errors';
import { ATTR, NON_RECORDING_SPAN, startSpan } from '@openpenpal/telemetry';
import { createBackoff, type Backoff } from '@openpenpal/timing';
import type { KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { HEADERS, headerText, headersAsText } from '../headers.ts';
import type { Producer } from '../producer.ts';
import { extractTraceContext } from '../tracing.ts';
import { deadLetterHolding } from './dead-letter.ts';
import { ProcessingAborted, isAborted, waitHolding, type PartitionHold } from './hold.ts';
import type {
  ConsumerObserver,
  HandlerContext,
  MessageHandler,
  MessageOutcome,
  RetryPolicy,
  Subscription,
} from './types.ts';

export interface ProcessDependencies {
  contracts: Contracts;
  producer: Producer;
  logger: Logger;
  groupId: string;
  retryPolicy: RetryPolicy;
  observer: ConsumerObserver | undefined;
  now: () => number;
}

export function newBackoff(policy: RetryPolicy): Backoff {
  return createBackoff({ initialDelayMs: policy.initialDelayMs, maxDelayMs: policy.maxDelayMs });
}

/** Whether a failure is worth another try now, and whether it is an outage that holds the partition. */
export function retryDecision(
  policy: RetryPolicy,
  error: unknown,
  attempts: number,
): { retry: boolean; blocking: boolean } {
  const blocking = isSchedulerError(error) && policy.blockingErrorCodes.includes(error.code);
  return { retry: isRetryable(error) && (blocking || attempts < policy.attempts), blocking };
}

/**
 * The handler's view of a message: one object per message, its attempt bumped in place on
 * retries. Key, headers and message id are decoded from bytes only when a handler reads them;
 * prototype getters keep the object's shape fast (an object literal with accessors is not).
 */
export class KafkaConsumedMessage<T = unknown> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly value: T;
  attempt = 0;
  readonly raw: KafkaMessage;
  #headers: Record<string, string> | undefined;

  constructor(topic: string, partition: number, message: KafkaMessage, value: T) {
    this.topic = topic;
    this.partition = partition;
    this.offset = message.offset;
    this.value = value;
    this.raw = message;
  }

  get key(): string | null {
    return this.raw.key?.toString() ?? null;
  }

  get headers(): Record<string, string> {
    return (this.#headers ??= headersAsText(this.raw.headers));
  }

  get messageId(): string | undefined {
    return this.#headers ? this.#headers[HEADERS.messageId] : headerText(this.raw.headers, HEADERS.messageId);
  }

  get timestamp(): number {
    return Number(this.raw.timestamp);
  }
}

/** Decodes a value with the topic's schema; a null value is a tombstone only where one is accepted. */
export function decodeValue(
  contracts: Contracts,
  topic: string,
  schema: Subscription['binding']['schema'],
  message: KafkaMessage,
  acceptsTombstones: boolean,
): unknown {
  if (message.value === null) {
    if (acceptsTombstones) return null;
    throw new SchedulerError('DECODE_FAILED', `null value on ${topic}, which takes no tombstones`);
  }
  return contracts.codec(schema).decode(message.value);
}

/** Dead-letters a message while holding its partition, logging and counting it. */
export async function deadLetterMessage(
  deps: ProcessDependencies,
  hold: PartitionHold,
  letter: { topic: string; partition: number; message: KafkaMessage; error: unknown; attempts: number },
  span: Span,
  started: number,
): Promise<MessageOutcome> {
  const { topic, partition, message, error, attempts } = letter;
  const dlq = await deadLetterHolding(
    { ...deps, maxDelayMs: deps.retryPolicy.maxDelayMs },
    { ...letter, groupId: deps.groupId, attempts: Math.max(attempts, 1) },
    hold,
    (failure) =>
      deps.logger.error(
        { err: toError(failure), topic, partition, offset: message.offset },
        'dead-letter write failed; the partition holds and retries',
      ),
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

const untracedContexts = new WeakMap<AbortSignal, HandlerContext>();

/** While tracing is off every handler context of one consumer is the same: share it. */
export function untracedContext(signal: AbortSignal): HandlerContext {
  let context = untracedContexts.get(signal);
  if (!context) {
    context = Object.freeze({ signal, span: NON_RECORDING_SPAN });
    untracedContexts.set(signal, context);
  }
  return context;
}

export function consumerSpanAttributes(deps: ProcessDependencies, topic: string, partition: number) {
  return {
    [ATTR.messagingSystem]: 'kafka',
    [ATTR.messagingOperation]: 'process',
    [ATTR.messagingDestination]: topic,
    [ATTR.messagingConsumerGroup]: deps.groupId,
    [ATTR.messagingKafkaPartition]: String(partition),
  };
}

/**
 * Decodes one message, runs its handler with retries and backoff, and dead-letters it when it
 * cannot be decoded, fails with a non-retryable error, or runs out of tries. Resolves when the
 * message is done with (so its offset may be committed); rejects with ProcessingAborted when it
 * is not (shutdown, partition revoked) so the partition does not move past it.
 */
export function processMessage(
  deps: ProcessDependencies,
  subscription: Subscription,
  partition: number,
  message: KafkaMessage,
  hold: PartitionHold,
  tracing: boolean,
): Promise<MessageOutcome> {
  if (!tracing) return handleMessage(deps, subscription, partition, message, hold, NON_RECORDING_SPAN);
  const { topic } = subscription.binding;
  return startSpan(
    `${topic} process`,
    (span) => handleMessage(deps, subscription, partition, message, hold, span),
    {
      kind: SpanKind.CONSUMER,
      parent: extractTraceContext(message.headers),
      attributes: {
        ...consumerSpanAttributes(deps, topic, partition),
        [ATTR.messagingKafkaOffset]: message.offset,
        ...(message.key ? { [ATTR.messagingKafkaKey]: message.key.toString() } : {}),
      },
    },
  );
}

async function handleMessage(
  deps: ProcessDependencies,
  subscription: Subscription,
  partition: number,
  message: KafkaMessage,
  hold: PartitionHold,
  span: Span,
): Promise<MessageOutcome> {
  const { topic } = subscription.binding;
  const started = deps.observer ? deps.now() : 0;
  let attempts = 0;
  try {
    const value = decodeValue(
      deps.contracts,
      topic,
      subscription.binding.schema,
      message,
      !!subscription.onTombstone,
    );
    const handler = (
      value === null ? subscription.onTombstone : subscription.handler
    ) as MessageHandler<unknown>;
    const consumed = new KafkaConsumedMessage(topic, partition, message, value);
    const context: HandlerContext =
      span === NON_RECORDING_SPAN ? untracedContext(hold.signal) : { signal: hold.signal, span };
    let backoff: Backoff | undefined;
    for (;;) {
      if (isAborted(hold.signal)) throw new ProcessingAborted();
      attempts += 1;
      consumed.attempt = attempts;
      try {
        await handler(consumed, context);
        break;
      } catch (error) {
        if (isAborted(hold.signal)) throw new ProcessingAborted();
        span.setAttribute(ATTR.attempt, attempts);
        deps.logger.warn(
          { err: toError(error), topic, partition, offset: message.offset, attempt: attempts },
          'handler failed',
        );
        const { retry, blocking } = retryDecision(deps.retryPolicy, error, attempts);
        if (!retry) throw error;
        deps.observer?.onRetry?.({ topic, attempts, errorCode: errorCodeOf(error), blocking });
        backoff ??= newBackoff(deps.retryPolicy);
        await waitHolding(hold, backoff.next());
      }
    }
    deps.observer?.onMessage?.({ topic, outcome: 'processed', attempts, durationMs: deps.now() - started });
    return 'processed';
  } catch (error) {
    if (error instanceof ProcessingAborted) throw error;
    if (isAborted(hold.signal)) throw new ProcessingAborted();
    return deadLetterMessage(deps, hold, { topic, partition, message, error, attempts }, span, started);
  }
}
