import { setTimeout as sleep } from 'node:timers/promises';
import { errorCodeOf } from '@openpenpal/errors';

/** Exponential backoff with jitter: 100 ms, 200 ms, … up to `maxMs`, each scaled by 0.5–1. */
export function backoffDelay(attempt: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, 100 * 2 ** Math.min(Math.max(attempt - 1, 0), 20));
  return Math.round(ceiling * (0.5 + Math.random() / 2));
}

/**
 * Runs `work` until it succeeds, retrying while the failure is DEPENDENCY_UNAVAILABLE (Redis or
 * Kafka away) and `deadline` (epoch ms, by `now`) has not passed. Other failures, and the last one,
 * are thrown.
 */
export async function retryWhileUnavailable<T>(
  work: () => Promise<T>,
  options: { deadline: number; now: () => number; maxDelayMs: number; onRetry?: (error: unknown) => void },
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      const delay = backoffDelay(attempt, options.maxDelayMs);
      if (errorCodeOf(error) !== 'DEPENDENCY_UNAVAILABLE' || options.now() + delay > options.deadline) {
        throw error;
      }
      options.onRetry?.(error);
      await sleep(delay);
    }
  }
}
