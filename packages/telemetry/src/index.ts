export { ATTR } from './attributes.ts';
export { recordError, startSpan, type SpanOptions } from './spans.ts';
