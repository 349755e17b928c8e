export { ATTR } from './attributes.ts';
export {
  NON_RECORDING_SPAN,
  isTracingEnabled,
  recordError,
  startSpan,
  traceLogFields,
  type SpanOptions,
} from './spans.ts';
