import { ERROR_CODES, type ErrorCode } from './codes.ts';

export interface SchedulerErrorOptions {
  /** Overrides the code's default retryable flag. */
  retryable?: boolean;
  /** Structured context for logs and API responses (field names, ids); never secrets. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** The one error type the scheduler throws on purpose. */
export class SchedulerError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: SchedulerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SchedulerError';
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    this.details = options.details ?? {};
  }
}

export function isSchedulerError(error: unknown): error is SchedulerError {
  return error instanceof SchedulerError;
}

/**
 * Whether a failure may pass on another try. Errors the scheduler did not classify (a driver's
 * socket error, a bug in a handler) count as retryable: a bounded number of retries then the DLQ
 * costs little, while dropping a transient failure loses work.
 */
export function isRetryable(error: unknown): boolean {
  return isSchedulerError(error) ? error.retryable : true;
}

/** A code for any thrown value: the SchedulerError's own, else HANDLER_FAILED. */
export function errorCodeOf(error: unknown): ErrorCode {
  return isSchedulerError(error) ? error.code : 'HANDLER_FAILED';
}

/** The thrown value as an Error (a string or object thrown by a library is wrapped). */
export function toError(error: unknown): Error {
  return error instanceof Error
    ? error
    : new Error(typeof error === 'string' ? error : JSON.stringify(error));
}
