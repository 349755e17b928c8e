import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { sleep, systemClock, type Clock } from './clock.ts';

export interface BackoffPolicy {
  /** The first delay's scale, ms. */
  initialDelayMs: number;
  /** No delay is longer than this, ms. */
  maxDelayMs: number;
  /**
   * `decorrelated` (default): cockatiel's decorrelated jitter, good for retrying one dependency
   * from many processes. `full`: a uniform delay between 0 and the exponential ceiling
   * (initial × 2^(n−1), capped), which makes the n-th delay's range predictable (retry schedules
   * that a test or an operator can check). `equal`: half the ceiling plus a uniform half, so a
   * loop that backs off never retries at once (a dispatcher pausing after a failed publish).
   */
  jitter?: 'decorrelated' | 'full' | 'equal';
  /** Random source in [0, 1) for `full` jitter; tests pin it. */
  random?: () => number;
}

/** The delays of one run of retries: call `next()` before each wait. */
export interface Backoff {
  /** The delay before the next try, ms. */
  next(): number;
}

/** The ceiling of the n-th delay (n from 1) of exponential backoff: initial × 2^(n−1), capped. */
export function exponentialCeiling(policy: BackoffPolicy, n: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(Math.max(n - 1, 0), 30));
}

/** The n-th delay (n from 1) of exponential backoff with full jitter. */
export function fullJitterDelay(policy: BackoffPolicy, n: number): number {
  return Math.floor((policy.random ?? Math.random)() * exponentialCeiling(policy, n));
}

/** The n-th delay (n from 1) of exponential backoff with equal jitter: between half the ceiling and the ceiling. */
export function equalJitterDelay(policy: BackoffPolicy, n: number): number {
  const ceiling = exponentialCeiling(policy, n);
  return Math.round(ceiling / 2 + ((policy.random ?? Math.random)() * ceiling) / 2);
}

/** One backoff for the whole code base: exponential growth with jitter, capped. */
export function createBackoff(policy: BackoffPolicy): Backoff {
  const jitter = policy.jitter ?? 'decorrelated';
  if (jitter !== 'decorrelated') {
    const delay = jitter === 'full' ? fullJitterDelay : equalJitterDelay;
    let n = 0;
    return { next: () => delay(policy, ++n) };
  }
  const factory = new ExponentialBackoff({
    initialDelay: policy.initialDelayMs,
    maxDelay: policy.maxDelayMs,
  });
  let current: IBackoff<unknown> | undefined;
  return {
    next: () => {
      current = current ? current.next(undefined) : factory.next();
      return Math.min(policy.maxDelayMs, current.duration);
    },
  };
}

export interface RetryOptions extends BackoffPolicy {
  /** Tries in all, the first included (default: until it succeeds or `shouldRetry` says no). */
  attempts?: number;
  /** Whether a failure is worth another try (default: every failure). */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Called before each wait. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Stops waiting: the last failure is thrown at once. */
  signal?: AbortSignal;
  /** Gives up (throws the last failure) rather than wait past this time (epoch ms, by `clock`). */
  deadline?: number;
  clock?: Pick<Clock, 'now'> & Partial<Pick<Clock, 'sleepUntil'>>;
}

/**
 * Runs `operation` until it succeeds, retrying failures with backoff. The last failure is thrown
 * when tries run out, `shouldRetry` refuses, or `signal` aborts.
 */
export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const backoff = createBackoff(options);
  const now = () => (options.clock ?? systemClock).now();
  const sleeper = options.clock?.sleepUntil ? (options.clock as Clock) : systemClock;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      const outOfTries = options.attempts !== undefined && attempt >= options.attempts;
      if (outOfTries || options.signal?.aborted || options.shouldRetry?.(error, attempt) === false)
        throw error;
      const delay = backoff.next();
      if (options.deadline !== undefined && now() + delay > options.deadline) throw error;
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, options.signal, sleeper);
      if (options.signal?.aborted) throw error;
    }
  }
}
