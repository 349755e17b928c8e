export {
  createBackoff,
  equalJitterDelay,
  exponentialCeiling,
  fullJitterDelay,
  retry,
  type Backoff,
  type BackoffPolicy,
  type RetryOptions,
} from './backoff.ts';
export { sleep, systemClock, type Clock } from './clock.ts';
