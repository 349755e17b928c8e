/**
 * Time as the ticker sees it. Everything that waits or reads the time goes through one of these,
 * so unit tests drive the schedule with a manual clock instead of sleeping through real minutes.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /**
   * Resolves once `now() >= at`, or as soon as `signal` aborts (it never rejects): callers wake
   * early when the earliest due time moves, and check the time themselves.
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
