import { createManualClock, type ManualClock } from '@openpenpal/test-kit';
import { describe, expect, it } from 'vitest';
import { createLeaderLease, type LeaseBackend, type Leadership } from '../src/lease/lease.ts';
import { logger } from './support.ts';

/** A lease store with Redis's semantics, on the manual clock: a key with an expiry and a counter. */
function memoryBackend(clock: ManualClock) {
  const state = {
    value: undefined as string | undefined,
    expiresAt: 0,
    counter: 0,
    renewals: 0,
    down: false,
  };
  const live = () => state.value !== undefined && clock.now() < state.expiresAt;
  const backend: LeaseBackend = {
    acquire: (owner, ttlMs, takeOverFrom) => {
      if (state.down) return Promise.reject(new Error('redis down'));
      // As acquire-lease.lua: an earlier process of the caller's instance holds it.
      const predecessor =
        takeOverFrom !== undefined && new RegExp(`^${takeOverFrom}/[0-9a-f]+:\\d+$`).test(state.value ?? '');
      if (live() && !predecessor)
        return Promise.resolve({
          acquired: false,
          holder: state.value ?? '',
          remainingMs: state.expiresAt - clock.now(),
        });
      state.counter += 1;
      state.value = `${owner}:${state.counter}`;
      state.expiresAt = clock.now() + ttlMs;
      return Promise.resolve({ acquired: true, token: state.counter });
    },
    renew: (value, ttlMs) => {
      if (state.down) return Promise.reject(new Error('redis down'));
      if (!live() || state.value !== value) return Promise.resolve(false);
      state.renewals += 1;
      state.expiresAt = clock.now() + ttlMs;
      return Promise.resolve(true);
    },
    release: (value) => {
      if (state.down || state.value !== value) return Promise.resolve(false);
      state.value = undefined;
      return Promise.resolve(true);
    },
  };
  return { backend, state, live };
}

/**
 * The test kit's clock moves on as soon as a woken task has started its next sleep. The lease
 * starts two per wake-up (a timeout around the Redis call, then its loop's next sleep), so one
 * long jump could pass the loop's next wake-up before it is armed; 10 ms steps let each settle.
 */
async function advanceTo(clock: ManualClock, target: number): Promise<void> {
  while (clock.now() < target) await clock.advanceTo(Math.min(target, clock.now() + 10));
}

function replica(name: string, clock: ManualClock, backend: LeaseBackend, takeOverFrom?: string) {
  const changes: (Leadership | undefined)[] = [];
  const counts = { acquired: 0, failed: 0, timedOut: 0 };
  const lease = createLeaderLease({
    backend,
    owner: name,
    ...(takeOverFrom === undefined ? {} : { takeOverFrom }),
    ttlMs: 3_000,
    renewEveryMs: 1_000,
    safetyMarginMs: 600,
    clock,
    logger,
    observer: {
      acquired: () => (counts.acquired += 1),
      failed: () => (counts.failed += 1),
      timedOut: () => (counts.timedOut += 1),
      active: () => undefined,
    },
  });
  lease.onChange((term) => changes.push(term));
  return { lease, changes, counts };
}

describe('the leader lease', () => {
  it('lets one replica lead and keeps it leading while it renews', async () => {
    const clock = createManualClock(0);
    const redis = memoryBackend(clock);
    const a = replica('a', clock, redis.backend);
    const b = replica('b', clock, redis.backend);
    a.lease.start();
    await advanceTo(clock, clock.now() + 10);
    b.lease.start();
    await advanceTo(clock, 20_000);
    expect(a.lease.current()).toEqual({ token: 1, value: 'a:1' });
    expect(b.lease.current()).toBeUndefined();
    expect(redis.state.renewals).toBeGreaterThanOrEqual(19);
    expect(b.counts.failed).toBeGreaterThan(0);
    await a.lease.close();
    await b.lease.close();
  });

  it('hands over to a standby within one TTL of the leader dying, under a higher fencing token', async () => {
    const clock = createManualClock(0);
    const redis = memoryBackend(clock);
    // A killed process makes no more calls: its backend calls never answer.
    let aDead = false;
    const never = new Promise<never>(() => undefined);
    const aBackend: LeaseBackend = {
      acquire: (owner, ttl) => (aDead ? never : redis.backend.acquire(owner, ttl)),
      renew: (value, ttl) => (aDead ? never : redis.backend.renew(value, ttl)),
      release: (value) => (aDead ? never : redis.backend.release(value)),
    };
    const a = replica('a', clock, aBackend);
    const b = replica('b', clock, redis.backend);
    a.lease.start();
    await advanceTo(clock, clock.now() + 10);
    b.lease.start();
    await advanceTo(clock, 5_000);
    aDead = true;
    const diedAt = clock.now();
    // Its key lives at most one TTL after its last renewal; the standby retries right after that.
    await advanceTo(clock, diedAt + 3_000 + 5);
    expect(b.lease.current()).toEqual({ token: 2, value: 'b:2' });
    expect(b.changes).toEqual([{ token: 2, value: 'b:2' }]);
    expect(b.counts.acquired).toBe(1);
    // The dead leader's own view had ended before the standby took over.
    expect(a.lease.current()).toBeUndefined();
    await b.lease.close();
  });

  it('steps down when renewals fail, before its key can expire and a standby can take over', async () => {
    const clock = createManualClock(0);
    const redis = memoryBackend(clock);
    const a = replica('a', clock, redis.backend);
    a.lease.start();
    await advanceTo(clock, 2_500);
    redis.state.down = true;
    const lastRenewal = 2_000;
    const keyExpiresAt = redis.state.expiresAt;
    expect(keyExpiresAt).toBe(lastRenewal + 3_000);
    await advanceTo(clock, lastRenewal + 3_000 - 600 - 1);
    expect(a.lease.current()).toBeDefined();
    await advanceTo(clock, lastRenewal + 3_000 - 600);
    expect(a.lease.current()).toBeUndefined();
    expect(a.changes.at(-1)).toBeUndefined();
    expect(clock.now()).toBeLessThan(keyExpiresAt);
    expect(a.counts.timedOut).toBe(1);
    await a.lease.close();
  });

  it('steps down at once when a renewal is refused because another replica holds the lease', async () => {
    const clock = createManualClock(0);
    const redis = memoryBackend(clock);
    const a = replica('a', clock, redis.backend);
    a.lease.start();
    await advanceTo(clock, 1_500);
    redis.state.value = 'intruder:9';
    await advanceTo(clock, 2_001);
    expect(a.lease.current()).toBeUndefined();
    expect(a.counts.timedOut).toBe(1);
    await a.lease.close();
  });

  it('takes over at once a lease an earlier process of its own instance still holds, on its first attempt only', async () => {
    const clock = createManualClock(0);
    const redis = memoryBackend(clock);
    // Killed a moment ago: its key has most of its TTL left.
    Object.assign(redis.state, { value: 'ticker-1/aaaa1111:1', expiresAt: 3_000, counter: 1 });
    const restarted = replica('ticker-1/bbbb2222', clock, redis.backend, 'ticker-1');
    restarted.lease.start();
    await advanceTo(clock, 10);
    expect(restarted.lease.current()).toEqual({ token: 2, value: 'ticker-1/bbbb2222:2' });
    await restarted.lease.close();

    // Another replica holds it at the first attempt; a later lease of the same instance id (a
    // duplicate INSTANCE_ID) is not taken over: the lease waits for it like for any other holder.
    Object.assign(redis.state, { value: 'ticker-2/cccc3333:3', expiresAt: clock.now() + 3_000, counter: 3 });
    const late = replica('ticker-1/dddd4444', clock, redis.backend, 'ticker-1');
    late.lease.start();
    await advanceTo(clock, clock.now() + 10);
    Object.assign(redis.state, { value: 'ticker-1/eeee5555:4', expiresAt: clock.now() + 3_000, counter: 4 });
    await advanceTo(clock, clock.now() + 2_000);
    expect(late.lease.current()).toBeUndefined();
    await advanceTo(clock, clock.now() + 1_100);
    expect(late.lease.current()).toEqual({ token: 5, value: 'ticker-1/dddd4444:5' });
    await late.lease.close();
  });

  it('releases the lease on close so a standby need not wait for the TTL', async () => {
    const clock = createManualClock(0);
    const redis = memoryBackend(clock);
    const a = replica('a', clock, redis.backend);
    a.lease.start();
    await advanceTo(clock, clock.now() + 10);
    await a.lease.close();
    await a.lease.close();
    expect(redis.live()).toBe(false);
    expect(a.changes).toEqual([{ token: 1, value: 'a:1' }, undefined]);
  });
});
