import type { Span } from '@opentelemetry/api';
import type { SchemaName, SchemaTypes } from '@openpenpal/contracts';
import type { ErrorCode } from '@openpenpal/errors';
import type { TopicBinding } from '../producer.ts';

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

/** What a batch handler reports: messages it refuses for good go to the dead-letter topic. */
export interface BatchResult<T> {
  rejected?: readonly { message: ConsumedMessage<T>; error: unknown }[];
}

/**
 * Handles a slice of one partition's fetched messages in one call (one Redis pipeline, one append).
 * Throwing fails the whole slice: it is retried as a whole, and when it keeps failing each message
 * is tried alone so only the ones at fault are dead-lettered.
 */
export type BatchHandler<T> = (
  messages: readonly ConsumedMessage<T>[],
  context: HandlerContext,
) => Promise<BatchResult<T> | undefined>;

export interface Subscription<S extends SchemaName = SchemaName> {
  binding: TopicBinding<S>;
  handler: MessageHandler<SchemaTypes[S]>;
  /** Null values (deletes on a compacted topic). Without this, a null value is dead-lettered. */
  onTombstone?: MessageHandler<null>;
}

export interface BatchSubscription<S extends SchemaName = SchemaName> {
  binding: TopicBinding<S>;
  batchHandler: BatchHandler<SchemaTypes[S]>;
  /** Most messages per handler call (default 1000). Null values are dead-lettered. */
  maxBatchSize?: number;
}

/** A subscription to any one schema's topic; build it with `subscription()` so the handler is typed. */
export type AnySubscription =
  | { [S in SchemaName]: Subscription<S> }[SchemaName]
  | { [S in SchemaName]: BatchSubscription<S> }[SchemaName];

export function subscription<S extends SchemaName>(
  binding: TopicBinding<S>,
  handler: MessageHandler<SchemaTypes[S]>,
  onTombstone?: MessageHandler<null>,
): AnySubscription {
  const built: Subscription<S> = { binding, handler, ...(onTombstone ? { onTombstone } : {}) };
  return built as unknown as AnySubscription;
}

/** A subscription whose handler takes a slice of a fetched batch at a time. */
export function batchSubscription<S extends SchemaName>(
  binding: TopicBinding<S>,
  batchHandler: BatchHandler<SchemaTypes[S]>,
  options: { maxBatchSize?: number } = {},
): AnySubscription {
  const built: BatchSubscription<S> = { binding, batchHandler, ...options };
  return built as unknown as AnySubscription;
}

export interface RetryPolicy {
  /** Tries per message (or batch), the first included, before it is dead-lettered. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /**
   * Error codes that are not the message's fault — a database or Redis outage. A message failing
   * with one is retried without limit (backoff capped at maxDelayMs) until it succeeds or the
   * consumer shuts down, holding its partition meanwhile (with heartbeats, so the group does not
   * rebalance): the messages wait in Kafka instead of filling the DLQ. Default: DEPENDENCY_UNAVAILABLE.
   */
  blockingErrorCodes: readonly ErrorCode[];
}

export type MessageOutcome = 'processed' | 'dead_lettered';

export interface ConsumerObserver {
  /** A try failed and the message (or batch) will be tried again (`blocking`: a dependency outage). */
  onRetry?(event: { topic: string; attempts: number; errorCode: string; blocking: boolean }): void;
  onMessage?(event: {
    topic: string;
    outcome: MessageOutcome;
    attempts: number;
    durationMs: number;
    errorCode?: string;
  }): void;
  /** Writing a dead letter failed; the partition holds and the write is retried. Alert on it. */
  onDeadLetterFailed?(event: { topic: string; errorCode: string }): void;
  /** Messages behind the end of the partition after a fetched batch (consumer lag). */
  onLag?(event: { topic: string; partition: number; lag: number }): void;
}
