import { errorCodeOf } from '@openpenpal/errors';
import { equalJitterDelay, retry } from '@openpenpal/timing';

/** The delay queue's backoff: from 100 ms, doubling, capped; never shorter than half its ceiling. */
export function backoffDelay(attempt: number, maxMs: number): number {
  return equalJitterDelay({ initialDelayMs: 100, maxDelayMs: maxMs }, attempt);
}

/**
 * Runs `work` until it succeeds, retrying while the failure is DEPENDENCY_UNAVAILABLE (Redis or
 * Kafka away) and waiting would not pass `deadline` (epoch ms, by `now`). Other failures, and the
 * last one, are thrown.
 */
export function retryWhileUnavailable<T>(
  work: () => Promise<T>,
  options: { deadline: number; now: () => number; maxDelayMs: number; onRetry?: (error: unknown) => void },
): Promise<T> {
  return retry(work, {
    initialDelayMs: 100,
    maxDelayMs: options.maxDelayMs,
    jitter: 'equal',
    deadline: options.deadline,
    clock: { now: options.now },
    shouldRetry: (error) => errorCodeOf(error) === 'DEPENDENCY_UNAVAILABLE',
    ...(options.onRetry ? { onRetry: (error: unknown) => options.onRetry?.(error) } : {}),
  });
}
