/**
 * Time as a component sees it. Everything that reads the time or waits for a moment goes through
 * one of these, so tests drive time with a manual clock (`@openpenpal/test-kit`) instead of sleeping.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /**
   * Resolves once `now() >= at`, or as soon as `signal` aborts (it never rejects): callers wake
   * early when what they wait for moves, and check the time themselves.
   */
  sleepUntil(at: number, signal?: AbortSignal): Promise<void>;
}

// setTimeout keeps a 32-bit signed delay; longer waits are cut into pieces.
const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  sleepUntil: (at, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const arm = () => {
        const wait = at - Date.now();
        if (wait <= 0) {
          done();
          return;
        }
        // Timers can fire a millisecond early against Date.now(); re-arm until the time has come.
        timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
      };
      signal?.addEventListener('abort', done, { once: true });
      arm();
    }),
};

/** Waits `ms` on `clock`; resolves early (never rejects) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal, clock: Clock = systemClock): Promise<void> {
  return clock.sleepUntil(clock.now() + Math.max(0, ms), signal);
}
