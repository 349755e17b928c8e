import { SchedulerError, isSchedulerError, toError } from '@openpenpal/errors';

// Replies that mean "Redis cannot serve this right now", not "the script is wrong".
const TRANSIENT_REPLY = /^(OOM|LOADING|BUSY|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MOVED|ASK)\b/;

/**
 * Classifies a failed Redis call. Connection failures and transient replies are
 * DEPENDENCY_UNAVAILABLE (retryable: the caller stops taking work and waits for Redis); any other
 * error reply from a script is a bug in the store, INTERNAL.
 */
export function storeError(operation: string, error: unknown): SchedulerError {
  if (isSchedulerError(error)) return error;
  const cause = toError(error);
  // ioredis types ReplyError as `any`, so the name identifies it.
  if (cause.name === 'ReplyError' && !TRANSIENT_REPLY.test(cause.message)) {
    return new SchedulerError(
      'INTERNAL',
      `delay store ${operation}: Redis rejected the call: ${cause.message}`,
      {
        cause,
        details: { operation },
      },
    );
  }
  return new SchedulerError('DEPENDENCY_UNAVAILABLE', `delay store ${operation}: ${cause.message}`, {
    cause,
    details: { operation },
  });
}
