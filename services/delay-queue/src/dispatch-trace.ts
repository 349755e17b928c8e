import { toError } from '@openpenpal/errors';
import { extractTraceContext, injectTraceContext, type RawMessage as Message } from '@openpenpal/messaging';
import {
  ATTR,
  ROOT_CONTEXT,
  SpanKind,
  activeContext,
  isTracingEnabled,
  startSpan,
  type Context,
} from '@openpenpal/telemetry';

interface TracedItem {
  claim: { id: string };
  topic: string;
  message: Message & { headers: Record<string, Buffer> };
}

/** Each dispatched message's span context, for the events about it (weak: gone with the batch). */
const dispatchSpans = new WeakMap<object, Context>();

/**
 * The context of each item's dispatch span, so its DelayedMessageDispatched event is published in
 * that span's trace, as its child (the event publisher coalesces many messages' events into one
 * send); nothing while tracing is off.
 */
export function dispatchContexts(items: readonly Pick<TracedItem, 'message'>[]): Context[] | undefined {
  if (!isTracingEnabled()) return undefined;
  return items.map((item) => dispatchSpans.get(item.message) ?? ROOT_CONTEXT);
}

/**
 * The context each item was scheduled in (the trace context stored in its headers), for the events
 * about an item that was never dispatched (a rejection at due time); nothing while tracing is off.
 */
export function scheduledContexts(
  items: readonly { message: { headers: Record<string, Buffer> } }[],
): Context[] | undefined {
  if (!isTracingEnabled()) return undefined;
  return items.map((item) => extractTraceContext(item.message.headers));
}

/**
 * Runs `send` with one span per due message, each a child of the trace context the message was
 * scheduled with, and writes that span's context into the message's headers, so the trace runs
 * requester → delay queue (across the wait) → target consumer. Without a tracing SDK it only sends.
 */
export async function withDispatchSpans(
  items: readonly TracedItem[],
  send: () => Promise<void>,
): Promise<void> {
  if (!isTracingEnabled() || items.length === 0) return send();
  let settle!: (error?: Error) => void;
  const sent = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error));
  });
  // startSpan runs each callback synchronously up to its first await, so every header carries its
  // span's context before `send` starts; the spans end when the publish settles.
  const spans = items.map((item) =>
    startSpan(
      `${item.topic} publish`,
      async () => {
        dispatchSpans.set(item.message, activeContext());
        const carrier: Record<string, string | Buffer> = {};
        injectTraceContext(carrier);
        for (const [name, value] of Object.entries(carrier)) item.message.headers[name] = Buffer.from(value);
        await sent;
      },
      {
        parent: extractTraceContext(item.message.headers),
        kind: SpanKind.PRODUCER,
        attributes: {
          [ATTR.messagingSystem]: 'kafka',
          [ATTR.messagingOperation]: 'publish',
          [ATTR.messagingDestination]: item.topic,
          [ATTR.delayedMessageId]: item.claim.id,
        },
      },
    ),
  );
  try {
    await send();
    settle();
  } catch (error) {
    settle(toError(error));
    throw error;
  } finally {
    await Promise.allSettled(spans);
  }
}
