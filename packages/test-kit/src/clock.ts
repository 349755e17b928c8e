/** The clock interface of `@openpenpal/timing`, restated so the test kit depends on no workspace package. */
export interface TestClock {
  now(): number;
  sleepUntil(at: number, signal?: AbortSignal): Promise<void>;
}

export interface ManualClock extends TestClock {
  /**
   * Moves time forward wake-up by wake-up up to `target`. At each wake-up it resolves the sleepers
   * that are due and waits until each woken one has come back to sleep (the code under test
   * reacted and reached its next wait), or until `reactMs` of real time passed for code that
   * does not sleep again.
   */
  advanceTo(target: number): Promise<void>;
  advanceBy(ms: number): Promise<void>;
  /** How many calls are waiting now. */
  sleeping(): number;
}

interface Sleeper {
  at: number;
  resolve(): void;
}

/** A clock tests drive by hand, so schedules run without real waiting. */
export function createManualClock(start: number, options: { reactMs?: number } = {}): ManualClock {
  const reactMs = options.reactMs ?? 1_000;
  let now = start;
  const sleepers = new Set<Sleeper>();
  let sleepsStarted = 0;
  let onSleep: (() => void) | undefined;

  const wakeDue = (): number => {
    let woken = 0;
    for (const sleeper of [...sleepers]) {
      if (sleeper.at <= now) {
        sleepers.delete(sleeper);
        sleeper.resolve();
        woken += 1;
      }
    }
    return woken;
  };

  /** Resolves once `count` new sleeps began after `since`, or after reactMs. */
  const reacted = (since: number, count: number) =>
    new Promise<void>((resolve) => {
      if (count === 0) {
        // Let promise callbacks already queued (work that needs no wake-up) run first.
        setImmediate(resolve);
        return;
      }
      const timer = setTimeout(done, reactMs);
      function done() {
        clearTimeout(timer);
        onSleep = undefined;
        // One more turn, so that sleeps the reaction starts right after (a timeout next to a loop's
        // wait) are registered before the next wake-up is chosen.
        setImmediate(resolve);
      }
      onSleep = () => {
        if (sleepsStarted - since >= count) done();
      };
      onSleep();
    });

  const clock: ManualClock = {
    now: () => now,
    sleepUntil: (until, signal) => {
      if (until <= now || signal?.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const sleeper: Sleeper = { at: until, resolve };
        sleepers.add(sleeper);
        sleepsStarted += 1;
        onSleep?.();
        signal?.addEventListener(
          'abort',
          () => {
            sleepers.delete(sleeper);
            resolve();
          },
          { once: true },
        );
      });
    },
    advanceTo: async (target) => {
      await reacted(sleepsStarted, 0);
      for (;;) {
        const next = Math.min(...[...sleepers].map((s) => s.at));
        if (!Number.isFinite(next) || next > target) break;
        now = Math.max(now, next);
        const since = sleepsStarted;
        await reacted(since, wakeDue());
      }
      now = Math.max(now, target);
      const since = sleepsStarted;
      await reacted(since, wakeDue());
    },
    advanceBy: (ms) => clock.advanceTo(now + ms),
    sleeping: () => sleepers.size,
  };
  return clock;
}
