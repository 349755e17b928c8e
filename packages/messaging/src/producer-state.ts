/**
 * Kafka's answers after which an idempotent producer's sequence state is broken for good: kafkajs
 * keeps the producer id and its sequence numbers, so every later send to the partition fails the
 * same way (tulios/kafkajs#598 — seen for real when the cluster fault run SIGKILLed a broker: one
 * delay-queue replica's sends all failed with OUT_OF_ORDER_SEQUENCE_NUMBER for 2.5 minutes). The
 * only way out is a producer with a new producer id.
 */
const BROKEN_STATE = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
]);

/**
 * The Kafka error type that broke the producer's state, looked for in the error itself, its
 * `cause`, and the errors an aggregate carries (kafkajs wraps per-broker failures); undefined when
 * the failure is anything else.
 */
export function brokenProducerState(error: unknown, depth = 0): string | undefined {
  if (depth > 4 || error === null || typeof error !== 'object') return undefined;
  const { type, cause, errors } = error as { type?: unknown; cause?: unknown; errors?: unknown };
  if (typeof type === 'string' && BROKEN_STATE.has(type)) return type;
  const fromCause = brokenProducerState(cause, depth + 1);
  if (fromCause) return fromCause;
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const found = brokenProducerState(inner, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}
