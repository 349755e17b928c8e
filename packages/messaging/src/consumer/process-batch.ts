import { ROOT_CONTEXT, SpanKind, trace, type Context, type Link, type Span } from '@opentelemetry/api';
import { errorCodeOf, toError } from '@openpenpal/errors';
import { ATTR, NON_RECORDING_SPAN, startSpan } from '@openpenpal/telemetry';
import type { Backoff } from '@openpenpal/timing';
import type { KafkaMessage } from 'kafkajs';
import { extractTraceContext } from '../tracing.ts';
import { ProcessingAborted, isAborted, waitHolding, type PartitionHold } from './hold.ts';
import {
  KafkaConsumedMessage,
  consumerSpanAttributes,
  deadLetterMessage,
  decodeValue,
  newBackoff,
  retryDecision,
  untracedContext,
  type ProcessDependencies,
} from './process-message.ts';
import type { BatchHandler, BatchSubscription, HandlerContext } from './types.ts';

/**
 * The slice's span links each message's producer span; when every traced message of the slice
 * comes from one producer span (a single message, or one multi-message send), the slice's span is
 * its child instead, so the consumer sits inside that trace (API or ticker → … → recorder) rather
 * than beside it — and without a link to its own parent, which Jaeger would show as FOLLOWS_FROM.
 */
function traceParentage(messages: readonly KafkaMessage[]): { links: Link[]; parent?: Context } {
  const links: Link[] = [];
  let parent: Context | undefined;
  let shared = true;
  for (const message of messages) {
    const extracted = extractTraceContext(message.headers);
    const context = trace.getSpanContext(extracted);
    if (!context) continue;
    const first = links[0]?.context;
    if (!first) parent = extracted;
    else if (first.traceId !== context.traceId || first.spanId !== context.spanId) shared = false;
    links.push({ context });
  }
  return shared && parent ? { links: [], parent } : { links };
}

/**
 * Processes a slice of one partition's messages with one handler call. Values that cannot be
 * decoded are dead-lettered first; the rest go to the handler together. A failing call is retried
 * as a whole with backoff (an outage holds the partition for as long as it lasts); when it keeps
 * failing for a reason that is not an outage, each message is tried on its own, so only the
 * messages at fault are dead-lettered. Resolves once every message is done with (the slice's last
 * offset may be committed); rejects with ProcessingAborted otherwise.
 */
export function processBatch(
  deps: ProcessDependencies,
  subscription: BatchSubscription,
  partition: number,
  messages: readonly KafkaMessage[],
  hold: PartitionHold,
  tracing: boolean,
): Promise<void> {
  const { topic } = subscription.binding;
  if (!tracing) return handleSlice(deps, subscription, partition, messages, hold, NON_RECORDING_SPAN);
  const { links, parent } = traceParentage(messages);
  return startSpan(
    `${topic} process`,
    (span) => handleSlice(deps, subscription, partition, messages, hold, span),
    {
      kind: SpanKind.CONSUMER,
      links,
      // Without a shared producer span the slice's span starts its own trace, linked to each one.
      parent: parent ?? ROOT_CONTEXT,
      attributes: {
        ...consumerSpanAttributes(deps, topic, partition),
        [ATTR.messagingBatchSize]: messages.length,
      },
    },
  );
}

async function handleSlice(
  deps: ProcessDependencies,
  subscription: BatchSubscription,
  partition: number,
  messages: readonly KafkaMessage[],
  hold: PartitionHold,
  span: Span,
): Promise<void> {
  const { topic, schema } = subscription.binding;
  const started = deps.now();
  const decoded: KafkaConsumedMessage[] = [];
  for (const message of messages) {
    try {
      decoded.push(
        new KafkaConsumedMessage(
          topic,
          partition,
          message,
          decodeValue(deps.contracts, topic, schema, message, false),
        ),
      );
    } catch (error) {
      await deadLetterMessage(deps, hold, { topic, partition, message, error, attempts: 1 }, span, started);
    }
  }
  if (decoded.length === 0) return;
  const context: HandlerContext =
    span === NON_RECORDING_SPAN ? untracedContext(hold.signal) : { signal: hold.signal, span };
  await runCall(
    deps,
    subscription.batchHandler as BatchHandler<unknown>,
    decoded,
    hold,
    span,
    context,
    started,
  );
}

async function runCall(
  deps: ProcessDependencies,
  handler: BatchHandler<unknown>,
  messages: readonly KafkaConsumedMessage[],
  hold: PartitionHold,
  span: Span,
  context: HandlerContext,
  started: number,
): Promise<void> {
  const first = messages[0];
  if (!first) return;
  const { topic, partition } = first;
  let attempts = 0;
  let backoff: Backoff | undefined;
  for (;;) {
    if (isAborted(hold.signal)) throw new ProcessingAborted();
    attempts += 1;
    for (const message of messages) message.attempt = attempts;
    try {
      const result = await handler(messages, context);
      const rejected = new Map((result?.rejected ?? []).map((r) => [r.message.offset, r.error]));
      const durationMs = deps.now() - started;
      for (const message of messages) {
        if (rejected.has(message.offset)) {
          const error = rejected.get(message.offset);
          await deadLetterMessage(
            deps,
            hold,
            { topic, partition, message: message.raw, error, attempts },
            span,
            started,
          );
        } else {
          deps.observer?.onMessage?.({ topic, outcome: 'processed', attempts, durationMs });
        }
      }
      return;
    } catch (error) {
      if (error instanceof ProcessingAborted || isAborted(hold.signal)) throw new ProcessingAborted();
      deps.logger.warn(
        {
          err: toError(error),
          topic,
          partition,
          from: first.offset,
          messages: messages.length,
          attempt: attempts,
        },
        'batch handler failed',
      );
      const { retry, blocking } = retryDecision(deps.retryPolicy, error, attempts);
      if (retry) {
        deps.observer?.onRetry?.({ topic, attempts, errorCode: errorCodeOf(error), blocking });
        backoff ??= newBackoff(deps.retryPolicy);
        await waitHolding(hold, backoff.next());
        continue;
      }
      if (messages.length === 1) {
        await deadLetterMessage(
          deps,
          hold,
          { topic, partition, message: first.raw, error, attempts },
          span,
          started,
        );
        return;
      }
      // Isolate the messages at fault: each one alone, with its own tries.
      for (const message of messages) {
        await runCall(deps, handler, [message], hold, span, context, deps.now());
      }
      return;
    }
  }
}
