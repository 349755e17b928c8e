import { ROOT_CONTEXT, context, propagation, type Context, type TextMapGetter } from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';
import { headerText } from './headers.ts';

const getter: TextMapGetter<IHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => headerText(carrier, key),
};

/**
 * Writes the W3C trace context (traceparent, tracestate, baggage) of `ctx` into Kafka headers.
 * Does nothing unless a propagator is registered (the service's telemetry SDK does that).
 */
export function injectTraceContext(
  headers: Record<string, string | Buffer>,
  ctx: Context = context.active(),
): void {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  Object.assign(headers, carrier);
}

/** The trace context a producer wrote into the headers, as a parent for the consumer's span. */
export function extractTraceContext(headers: IHeaders | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers ?? {}, getter);
}
