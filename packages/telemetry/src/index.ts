export { ATTR } from './attributes.ts';
export {
  NON_RECORDING_SPAN,
  activeContext,
  isInsideSpan,
  isTracingEnabled,
  recordError,
  startSpan,
  traceLogFields,
  type SpanOptions,
} from './spans.ts';
/** The span kinds, so a service marks a client or consumer span without depending on the API itself. */
export { ROOT_CONTEXT, SpanKind, type Context } from '@opentelemetry/api';
