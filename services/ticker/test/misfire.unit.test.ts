import type { MisfirePolicy } from '@openpenpal/contracts';
import { describe, expect, it } from 'vitest';
import { at, createHarness, definition, firesOf, missedOf, type Harness } from './support.ts';

/**
 * Leader one fires a per-minute task up to 10:02, dies, and nobody leads until leader two takes
 * over at 10:07:30: 10:03-10:07 were due meanwhile.
 */
async function outage(policy: MisfirePolicy, extra: { graceMs?: number; cap?: number } = {}) {
  const def = definition('minutely', {
    cron_expression: '* * * * *',
    misfire_policy: policy,
    misfire_grace_ms: extra.graceMs ?? 60_000,
    misfire_fire_all_cap: extra.cap ?? 100,
  });
  const one = createHarness({ start: at('2026-03-01T10:00:30Z') });
  one.define(def);
  await one.lead(1);
  await one.clock.advanceTo(at('2026-03-01T10:02:10Z'));
  one.lease.valid = false;
  await one.scheduler.stepDown();
  await one.clock.advanceTo(at('2026-03-01T10:07:30Z'));

  const two: Harness = createHarness({ start: 0, clock: one.clock, memory: one.memory, kafka: one.kafka });
  two.define(def);
  const sentBefore = one.kafka.triggers.length;
  await two.lead(2);
  await two.clock.advanceBy(1);
  return { two, fired: firesOf(one.kafka.triggers.slice(sentBefore)), missed: missedOf(one.kafka.events) };
}

describe('nominal times missed while no leader ran', () => {
  it('fire_once fires the latest missed minute (on time within the grace) and records the rest as superseded', async () => {
    const { fired, missed } = await outage('fire_once');
    expect(fired).toEqual(['2026-03-01T10:07:00.000Z']);
    expect(missed).toEqual(
      ['10:03', '10:04', '10:05', '10:06'].map((t) => ({
        taskId: 'minutely',
        nominal: `2026-03-01T${t}:00.000Z`,
        reason: 'superseded',
      })),
    );
  });

  it('fire_once fires the latest misfire when even that one is beyond the grace', async () => {
    const { fired, missed } = await outage('fire_once', { graceMs: 10_000 });
    expect(fired).toEqual(['2026-03-01T10:07:00.000Z']);
    expect(missed.map((m) => m.reason)).toEqual(['superseded', 'superseded', 'superseded', 'superseded']);
  });

  it('skip fires none of the misfires and records each as misfire_skipped', async () => {
    const { fired, missed } = await outage('skip', { graceMs: 10_000 });
    expect(fired).toEqual([]);
    expect(missed.map((m) => `${m.nominal.slice(11, 16)} ${m.reason}`)).toEqual([
      '10:03 misfire_skipped',
      '10:04 misfire_skipped',
      '10:05 misfire_skipped',
      '10:06 misfire_skipped',
      '10:07 misfire_skipped',
    ]);
  });

  it('fire_all fires every missed minute, oldest first', async () => {
    const { fired, missed } = await outage('fire_all', { graceMs: 10_000 });
    expect(fired.map((t) => t.slice(11, 16))).toEqual(['10:03', '10:04', '10:05', '10:06', '10:07']);
    expect(missed).toEqual([]);
  });

  it('fire_all beyond its cap fires the latest misfires and records the older ones as cap_exceeded', async () => {
    const { fired, missed } = await outage('fire_all', { graceMs: 10_000, cap: 2 });
    expect(fired.map((t) => t.slice(11, 16))).toEqual(['10:06', '10:07']);
    expect(missed.map((m) => `${m.nominal.slice(11, 16)} ${m.reason}`)).toEqual([
      '10:03 cap_exceeded',
      '10:04 cap_exceeded',
      '10:05 cap_exceeded',
    ]);
  });

  it('goes on firing on schedule after the catch-up, never repeating a nominal time', async () => {
    const { two } = await outage('fire_all', { graceMs: 10_000 });
    await two.clock.advanceTo(at('2026-03-01T10:10:30Z'));
    const all = firesOf(two.kafka.triggers).map((t) => t.slice(11, 16));
    expect(all).toEqual([
      '10:01',
      '10:02',
      '10:03',
      '10:04',
      '10:05',
      '10:06',
      '10:07',
      '10:08',
      '10:09',
      '10:10',
    ]);
    expect(new Set(two.triggers.map((t) => t.execution_id)).size).toBe(all.length);
  });

  it('records every time not fired exactly once across the hand-over', async () => {
    const { two } = await outage('skip', { graceMs: 10_000 });
    await two.clock.advanceTo(at('2026-03-01T10:09:30Z'));
    const fired = firesOf(two.kafka.triggers).map((t) => t.slice(11, 16));
    const missed = missedOf(two.kafka.events).map((m) => m.nominal.slice(11, 16));
    expect([...fired, ...missed].sort()).toEqual([
      '10:01',
      '10:02',
      '10:03',
      '10:04',
      '10:05',
      '10:06',
      '10:07',
      '10:08',
      '10:09',
    ]);
  });
});
