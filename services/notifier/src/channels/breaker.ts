import { SchedulerError, isSchedulerError } from '@openpenpal/errors';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
} from 'cockatiel';

export interface BreakerOptions {
  /** Consecutive provider failures that open a breaker. */
  threshold: number;
  /** How long an open breaker refuses calls before one trial call. */
  halfOpenAfterMs: number;
  clock: { now(): number };
  onStateChange?: (key: string, state: 'closed' | 'open' | 'half_open') => void;
}

export interface Breakers {
  /**
   * Runs `call` through the breaker of `key`. An open breaker rejects with CIRCUIT_OPEN whose
   * `details.retryAt` says when it lets a trial call through.
   */
  run<T>(key: string, call: () => Promise<T>): Promise<T>;
  state(key: string): 'closed' | 'open' | 'half_open';
}

/** Only a provider's own failures count; a bad address or a missing setting says nothing about it. */
const countsAgainstProvider = handleWhen(
  (error) => isSchedulerError(error) && (error.code === 'PROVIDER_FAILED' || error.code === 'TIMEOUT'),
);

const STATES = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'open',
} as const;

/** One cockatiel circuit breaker per key (a channel, or a webhook origin), made on first use. */
export function createBreakers(options: BreakerOptions): Breakers {
  const breakers = new Map<string, { policy: CircuitBreakerPolicy; openedAt: number }>();
  const get = (key: string) => {
    let entry = breakers.get(key);
    if (!entry) {
      const policy = circuitBreaker(countsAgainstProvider, {
        halfOpenAfter: options.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(options.threshold),
      });
      const created = { policy, openedAt: 0 };
      policy.onBreak(() => {
        created.openedAt = options.clock.now();
      });
      policy.onStateChange((state) => options.onStateChange?.(key, STATES[state]));
      breakers.set(key, created);
      entry = created;
    }
    return entry;
  };
  return {
    run: async (key, call) => {
      const entry = get(key);
      try {
        return await entry.policy.execute(call);
      } catch (error) {
        if (error instanceof BrokenCircuitError) {
          throw new SchedulerError('CIRCUIT_OPEN', `the ${key} circuit is open after repeated failures`, {
            details: { retryAt: Math.max(options.clock.now(), entry.openedAt + options.halfOpenAfterMs) },
          });
        }
        throw error;
      }
    },
    state: (key) => STATES[get(key).policy.state],
  };
}
