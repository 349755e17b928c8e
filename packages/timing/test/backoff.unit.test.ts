import { describe, expect, it } from 'vitest';
import { createBackoff, equalJitterDelay, exponentialCeiling, fullJitterDelay, retry } from '../src/index.ts';

describe('backoff', () => {
  it('keeps full-jitter delays under the doubling ceiling, capped at the maximum', () => {
    const policy = { initialDelayMs: 100, maxDelayMs: 1_000, jitter: 'full' as const, random: () => 0.999 };
    expect([1, 2, 3, 4, 5].map((n) => exponentialCeiling(policy, n))).toEqual([100, 200, 400, 800, 1_000]);
    expect([1, 2, 3, 4, 5].map((n) => fullJitterDelay(policy, n))).toEqual([99, 199, 399, 799, 999]);
    expect(fullJitterDelay({ ...policy, random: () => 0 }, 4)).toBe(0);
  });

  it('keeps equal-jitter delays between half the ceiling and the ceiling', () => {
    const policy = { initialDelayMs: 100, maxDelayMs: 1_000 };
    expect(equalJitterDelay({ ...policy, random: () => 0 }, 3)).toBe(200);
    expect(equalJitterDelay({ ...policy, random: () => 0.999 }, 3)).toBe(400);
    expect(equalJitterDelay({ ...policy, random: () => 0 }, 9)).toBe(500);
  });

  it('gives up rather than wait past its deadline', async () => {
    let calls = 0;
    let now = 0;
    const run = retry(
      () => {
        calls += 1;
        now += 100;
        return Promise.reject(new Error(`try ${calls}`));
      },
      {
        initialDelayMs: 100,
        maxDelayMs: 100,
        jitter: 'equal',
        random: () => 0.999,
        deadline: 250,
        clock: { now: () => now },
      },
    );
    await expect(run).rejects.toThrow('try 2');
  });

  it('never waits longer than the maximum with decorrelated jitter', () => {
    const backoff = createBackoff({ initialDelayMs: 50, maxDelayMs: 400 });
    const delays = Array.from({ length: 50 }, () => backoff.next());
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    expect(Math.min(...delays)).toBeGreaterThan(0);
  });

  it('retries until the operation succeeds', async () => {
    let calls = 0;
    const result = await retry(
      (attempt) => {
        calls += 1;
        return attempt < 3 ? Promise.reject(new Error('not yet')) : Promise.resolve('done');
      },
      { initialDelayMs: 1, maxDelayMs: 2 },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
  });

  it('throws the last failure when tries run out or a failure is not retryable', async () => {
    let calls = 0;
    const fail = (attempt: number) => {
      calls += 1;
      return Promise.reject(new Error(`try ${attempt}`));
    };
    await expect(retry(fail, { initialDelayMs: 1, maxDelayMs: 1, attempts: 2 })).rejects.toThrow('try 2');
    expect(calls).toBe(2);
    await expect(
      retry(fail, { initialDelayMs: 1, maxDelayMs: 1, shouldRetry: (_e, attempt) => attempt < 4 }),
    ).rejects.toThrow('try 4');
  });

  it('stops waiting when aborted', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const run = retry(() => Promise.reject(new Error('down')), {
      initialDelayMs: 60_000,
      maxDelayMs: 60_000,
      jitter: 'full',
      random: () => 0.5,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 20);
    await expect(run).rejects.toThrow('down');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
