/**
 * The closed list of error codes. `retryable` says whether trying the same operation again may
 * succeed; consumers retry retryable failures with backoff and send the rest straight to the DLQ.
 * Every code is documented in docs/errors.md (a unit test checks it).
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: { retryable: false, summary: 'input does not satisfy its schema or rules' },
  DECODE_FAILED: { retryable: false, summary: 'a message value is not valid Avro single-object encoding' },
  UNKNOWN_SCHEMA: {
    retryable: false,
    summary: 'a message names a writer schema fingerprint no reader knows',
  },
  UNKNOWN_TOPIC: { retryable: false, summary: 'a topic is not in the contracts catalogue' },
  PAYLOAD_TOO_LARGE: { retryable: false, summary: 'a payload exceeds the configured size limit' },
  NOT_FOUND: { retryable: false, summary: 'the addressed task, execution, stream or message does not exist' },
  CONFLICT: {
    retryable: false,
    summary: 'the expected revision or state did not match (optimistic concurrency)',
  },
  UNAUTHENTICATED: { retryable: false, summary: 'the request carries no valid credentials' },
  FORBIDDEN: { retryable: false, summary: 'the caller lacks the role the operation needs' },
  RATE_LIMITED: { retryable: true, summary: 'the caller sent more requests than its rate limit allows' },
  CONFIG_INVALID: { retryable: false, summary: 'a service setting is missing or malformed' },
  NON_RETRYABLE_FAILURE: { retryable: false, summary: 'a handler decided the work can never succeed' },
  DEPENDENCY_UNAVAILABLE: {
    retryable: true,
    summary: 'Kafka, Redis, PostgreSQL or the event store is unreachable',
  },
  TIMEOUT: { retryable: true, summary: 'an operation did not finish within its deadline' },
  PROVIDER_FAILED: { retryable: true, summary: 'an outside provider (AI, SMTP, webhook) failed' },
  CIRCUIT_OPEN: { retryable: true, summary: 'a circuit breaker refuses calls to a failing provider' },
  SHUTTING_DOWN: { retryable: true, summary: 'the component is closing and takes no new work' },
  HANDLER_FAILED: { retryable: true, summary: 'a handler failed for a reason that may pass' },
  EXECUTION_IN_PROGRESS: {
    retryable: true,
    summary: 'another worker runs this attempt of the execution now; the trigger waits for it',
  },
  INTERNAL: { retryable: false, summary: 'a bug: an invariant of the scheduler did not hold' },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const errorCodes = Object.keys(ERROR_CODES) as ErrorCode[];
