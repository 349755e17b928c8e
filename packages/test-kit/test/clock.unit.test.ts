import { describe, expect, it } from 'vitest';
import { createManualClock } from '../src/clock.ts';
import { waitFor } from '../src/wait.ts';

describe('manual clock', () => {
  it('runs a sleeping loop wake-up by wake-up, each reaction done before time moves on', async () => {
    const clock = createManualClock(0);
    const seen: number[] = [];
    const controller = new AbortController();
    const loop = (async () => {
      while (!controller.signal.aborted) {
        await clock.sleepUntil(clock.now() + 100, controller.signal);
        // A reaction that takes a few turns of the event loop before the next sleep.
        await Promise.resolve();
        await new Promise((resolve) => setImmediate(resolve));
        seen.push(clock.now());
      }
    })();
    await clock.advanceTo(350);
    expect(seen).toEqual([100, 200, 300]);
    expect(clock.now()).toBe(350);
    controller.abort();
    await loop;
  });

  it('wakes a sleeper early when its signal aborts', async () => {
    const clock = createManualClock(0);
    const controller = new AbortController();
    const sleep = clock.sleepUntil(1_000, controller.signal);
    expect(clock.sleeping()).toBe(1);
    controller.abort();
    await sleep;
    expect(clock.sleeping()).toBe(0);
  });
});

describe('waitFor', () => {
  it('names what it waited for and the last state when it times out', async () => {
    await expect(
      waitFor(() => false, { timeoutMs: 30, what: 'nothing', describe: () => ({ n: 1 }) }),
    ).rejects.toThrow('timed out after 30 ms waiting for nothing; last state: {"n":1}');
  });
});
