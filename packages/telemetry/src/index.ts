export { ATTR } from './attributes.ts';
export {
  NON_RECORDING_SPAN,
  activeContext,
  beginSpan,
  extractHttpContext,
  hasSpanContext,
  isInsideSpan,
  isTracingEnabled,
  recordError,
  toException,
  startSpan,
  traceLogFields,
  withContext,
  type SpanOptions,
} from './spans.ts';
/** The span kinds, so a service marks a client or consumer span without depending on the API itself. */
export { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Context, type Span } from '@opentelemetry/api';
