import {
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  ProxyTracerProvider,
  SpanStatusCode,
  context as otelContext,
  isSpanContextValid,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanKind,
} from '@opentelemetry/api';

const TRACER_NAME = '@openpenpal/scheduler';
// The API hands out a proxy that follows whichever provider is registered later, so one lookup
// serves the whole process (getTracer allocates a new proxy on every call).
const tracer = trace.getTracer(TRACER_NAME);

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context; the active one when omitted (e.g. a context extracted from Kafka headers). */
  parent?: Context;
  /** Spans this one follows from without being their child (a batch links each message's trace). */
  links?: Link[];
}

// A fresh proxy's delegate is the API's shared no-op provider, which is what the global proxy
// delegates to until a service starts the SDK.
// ProxyTracerProvider is deprecated for construction by users, yet it is still what the API
// registers globally and the only public way to see whether an SDK took over.
// eslint-disable-next-line @typescript-eslint/no-deprecated
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** A span that records nothing, for code paths that skip tracing while no SDK runs. */
export const NON_RECORDING_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * False while no tracer provider is registered (no SDK started): spans would be no-ops and, with
 * no propagator either, no context could travel, so hot paths may skip span bookkeeping.
 */
export function isTracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

/**
 * Runs `fn` inside a new active span that records a thrown error (status ERROR plus the
 * exception event) and always ends, whether `fn` returns or throws.
 */
export async function startSpan<T>(
  name: string,
  fn: (span: Span) => Promise<T>,
  options: SpanOptions = {},
): Promise<T> {
  const { span, context } = beginSpan(name, options);
  try {
    return await otelContext.with(context, () => fn(span));
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Starts a span that the caller ends (`span.end()`), for work that is not one function call (an
 * HTTP request crossing several hooks); `context` is the parent with this span, to run work in.
 * Prefer `startSpan` wherever one function covers the work.
 */
export function beginSpan(name: string, options: SpanOptions = {}): { span: Span; context: Context } {
  const parent = options.parent ?? otelContext.active();
  const span = tracer.startSpan(
    name,
    {
      ...(options.kind === undefined ? {} : { kind: options.kind }),
      ...(options.attributes ? { attributes: options.attributes } : {}),
      ...(options.links?.length ? { links: options.links } : {}),
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Runs `fn` with `ctx` as the active context (its span the parent of spans started in `fn`). */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return otelContext.with(ctx, fn);
}

/**
 * The trace context an HTTP caller sent (W3C `traceparent`, `tracestate`, `baggage` in lower-case
 * header names, as Node gives them), as a parent; the root context when there is none.
 */
export function extractHttpContext(headers: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

/** Whether `ctx` carries a valid span context (an incoming trace to continue). */
export function hasSpanContext(ctx: Context): boolean {
  const spanContext = trace.getSpanContext(ctx);
  return spanContext !== undefined && isSpanContextValid(spanContext);
}

/**
 * Whether a recording span is active now: client spans (a Redis script, an event-store read) are
 * made only as children, never as roots of traces of their own (a poll loop would otherwise start
 * a trace per poll); false at once while no SDK runs.
 */
export function isInsideSpan(): boolean {
  return trace.getSpan(otelContext.active())?.isRecording() === true;
}

/** The context active now (its span is the parent of spans started in it), to carry into later work. */
export function activeContext(): Context {
  return otelContext.active();
}

/**
 * The ids of the span active now, as log fields (`trace_id`, `span_id`, hex as in W3C traceparent),
 * or nothing when no valid span is active; for a logger's mixin, so a log line finds its trace.
 */
export function traceLogFields(): { trace_id: string; span_id: string } | Record<string, never> {
  const spanContext = trace.getSpan(otelContext.active())?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/** An Error for `span.recordException`, whatever was thrown. */
export function toException(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export function recordError(span: Span, error: unknown): void {
  const err = toException(error);
  span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') span.setAttribute('openpenpal.error.code', code);
}
