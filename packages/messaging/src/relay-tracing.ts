import {
  ATTR,
  SpanKind,
  beginSpan,
  isTracingEnabled,
  recordError,
  type Context,
  type Span,
} from '@openpenpal/telemetry';
import type { IHeaders, RecordMetadata } from 'kafkajs';
import { headerText } from './headers.ts';
import type { EncodedBatch, Producer } from './producer.ts';
import { extractTraceContext, injectTraceContext } from './tracing.ts';

const TRACEPARENT = 'traceparent';

/**
 * Sends messages that were encoded earlier, in another span (an outbox row written in a handler's
 * transaction, relayed later), each inside a producer span of the trace it carries: one span per
 * topic and distinct trace context, a child of that context, and each message's trace headers rewritten to
 * its span — so the consumer's span is the child of the hop that really sent it, and the time a
 * message waited before it was sent shows in the trace. Messages without a trace context go out as
 * they are. One `sendEncoded` for everything; the spans end when it settles (with its error).
 */
export async function sendEncodedInTraces(
  producer: Pick<Producer, 'sendEncoded'>,
  batches: readonly EncodedBatch[],
): Promise<RecordMetadata[]> {
  if (!isTracingEnabled()) return producer.sendEncoded(batches);
  const spans = new Map<string, { span: Span; context: Context; count: number }>();
  const rewritten = batches.map((batch) => ({
    ...batch,
    messages: batch.messages.map((message) => {
      const headers: IHeaders = message.headers ?? {};
      const parent = headerText(headers, TRACEPARENT);
      if (!parent) return message;
      const group = `${batch.topic}\n${parent}`;
      let entry = spans.get(group);
      if (!entry) {
        const { span, context } = beginSpan(`${batch.topic} publish`, {
          parent: extractTraceContext(headers),
          kind: SpanKind.PRODUCER,
          attributes: {
            [ATTR.messagingSystem]: 'kafka',
            [ATTR.messagingOperation]: 'publish',
            [ATTR.messagingDestination]: batch.topic,
          },
        });
        entry = { span, context, count: 0 };
        spans.set(group, entry);
      }
      entry.count += 1;
      const next: Record<string, string | Buffer> = {};
      for (const [name, value] of Object.entries(headers)) {
        if (typeof value === 'string' || Buffer.isBuffer(value)) next[name] = value;
      }
      injectTraceContext(next, entry.context);
      return { ...message, headers: next };
    }),
  }));
  for (const { span, count } of spans.values()) span.setAttribute(ATTR.messagingBatchSize, count);
  try {
    return await producer.sendEncoded(rewritten);
  } catch (error) {
    for (const { span } of spans.values()) recordError(span, error);
    throw error;
  } finally {
    for (const { span } of spans.values()) span.end();
  }
}
