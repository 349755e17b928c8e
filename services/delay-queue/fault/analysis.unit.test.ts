import { summarise } from '@openpenpal/test-kit';
import { describe, expect, it } from 'vitest';
import {
  deliveryRatios,
  firstDeliveryAfter,
  longestSilence,
  peakRate,
  phaseResult,
  recoveredAt,
} from './analysis.ts';
import { latenessOfDue, totals } from './summaries.ts';
import { createLedger, type Ledger } from './ledger.ts';

const T0 = 1_000_000;

/**
 * 100 ids/s due from T0 on, each accepted at once and received `lateness(due)` ms after its due
 * time (null: never), published `publishLag` ms before it is received.
 */
function steady(seconds: number, lateness: (due: number) => number | null, publishLag = 5): Ledger {
  const ledger = createLedger('t');
  for (let i = 0; i < seconds * 100; i += 1) {
    const due = T0 + i * 10;
    const seq = ledger.offer(due - 2_000, due);
    ledger.accepted([seq], due - 1_990);
  }
  const arrivals = ledger.dueAt
    .map((due, seq) => ({ seq, late: lateness(due), due }))
    .filter((a): a is { seq: number; late: number; due: number } => a.late !== null)
    .sort((a, b) => a.due + a.late - (b.due + b.late));
  for (const { seq, late, due } of arrivals) ledger.received(seq, due + late, due + late - publishLag);
  return ledger;
}

describe('fault run analysis', () => {
  it('takes nearest-rank percentiles', () => {
    expect(summarise([5, 1, 4, 2, 3])).toEqual({ count: 5, p50: 3, p90: 5, p99: 5, p999: 5, max: 5 });
    expect(summarise([])).toMatchObject({ count: 0, p50: null, max: null });
  });

  it('measures delivered against due per window', () => {
    const ledger = steady(10, () => 20);
    const points = deliveryRatios(ledger, T0 + 2_000, T0 + 8_000, { windowMs: 1_000, stepMs: 500 });
    for (const point of points) {
      expect(point.due).toBe(100);
      expect(point.delivered).toBe(100);
      expect(point.ratio).toBe(1);
    }
  });

  it('finds the rate back only once it stays up, not at a short burst', () => {
    // Kill at T0+10 s: nothing for 3 s, a 2 s burst of what was pending, 4 s of nothing (the
    // intake waits for the group), then everything owed at once and on time afterwards.
    const kill = T0 + 10_000;
    const ledger = steady(60, (due) => {
      if (due < kill) return 10;
      if (due < kill + 3_000) return kill + 3_000 - due + 10;
      if (due < kill + 5_000) return 10;
      if (due < kill + 9_000) return kill + 9_000 - due + 10;
      return 10;
    });
    const points = deliveryRatios(ledger, T0, T0 + 60_000, { windowMs: 1_000, stepMs: 100 });
    const back = recoveredAt(points, kill + 1_000, T0 + 60_000, { sustainMs: 10_000, threshold: 0.9 });
    expect((back ?? 0) - kill).toBeGreaterThanOrEqual(9_000);
    expect((back ?? 0) - kill).toBeLessThanOrEqual(9_200);
  });

  it('says never when the rate does not stay up long enough before the phase ends', () => {
    const ledger = steady(20, (due) => (due < T0 + 15_000 ? null : 10));
    const points = deliveryRatios(ledger, T0, T0 + 20_000, { windowMs: 1_000, stepMs: 100 });
    expect(recoveredAt(points, T0 + 1_000, T0 + 20_000, { sustainMs: 10_000, threshold: 0.9 })).toBeNull();
  });

  it('counts as the first delivery only a copy published after the killed process exited and received after the restart', () => {
    const ledger = createLedger('t');
    const a = ledger.offer(0, 100);
    const b = ledger.offer(0, 100);
    ledger.received(a, 1_050, 990); // published before the kill at 1000, arrived late
    ledger.received(b, 1_300, 1_290);
    expect(firstDeliveryAfter(ledger.copyLog, 1_000, 1_010)?.seq).toBe(b);
  });

  it('measures the longest silence including the phase edges', () => {
    const ledger = createLedger('t');
    const seq = ledger.offer(0, 0);
    for (const at of [1_100, 1_200, 4_000]) ledger.received(seq, at, at);
    expect(longestSilence(ledger.copyLog, 1_000, 5_000)).toBe(2_800);
    expect(longestSilence([], 1_000, 5_000)).toBe(4_000);
  });

  it('reports lateness of the ids due in a phase, and after acceptance', () => {
    const ledger = createLedger('t');
    const early = ledger.offer(0, 1_000);
    const late = ledger.offer(0, 2_000);
    const never = ledger.offer(0, 2_500);
    ledger.accepted([early], 10);
    ledger.accepted([late], 2_400); // Kafka took the request 400 ms after its due time
    ledger.accepted([never], 10);
    ledger.received(early, 1_030, 1_020);
    ledger.received(late, 2_600, 2_590);
    const phase = latenessOfDue(ledger, 1_500, 3_000);
    expect(phase).toMatchObject({ count: 1, max: 600, undelivered: 1, maxAfterAcceptMs: 200 });
  });

  it('counts lost, late-accepted and duplicate ids in the totals', () => {
    const ledger = createLedger('t');
    const [a, b, c, d] = [
      ledger.offer(0, 100),
      ledger.offer(0, 100),
      ledger.offer(0, 100),
      ledger.offer(0, 100),
    ];
    ledger.accepted([a, b, c], 50);
    ledger.received(a, 150, 140);
    ledger.received(a, 9_000, 8_990);
    ledger.received(d, 300, 290); // delivered although its send was never acknowledged
    ledger.dispatchedEvent(a, 40, false);
    ledger.dispatchedEvent(a, 8_890, true);
    const sums = totals(ledger);
    expect(sums).toMatchObject({
      offered: 4,
      acceptedByKafka: 3,
      delivered: 1,
      deliveredButNotAccepted: 1,
      lost: 2,
      lostSample: ['t-1', 't-2'],
      duplicates: 1,
      idsWithDuplicates: 1,
    });
    expect(sums.events).toMatchObject({
      dispatched: 2,
      dispatchedRedelivered: 1,
      deliveredWithoutDispatchedEvent: 1,
    });
  });

  it('judges a phase against the 10 s targets from the right restart time', () => {
    const kill = T0 + 10_000;
    const ledger = steady(40, (due) => (due >= kill && due < kill + 6_000 ? kill + 6_000 - due + 10 : 10));
    const points = deliveryRatios(ledger, T0, T0 + 40_000, { windowMs: 1_000, stepMs: 100 });
    const result = phaseResult(
      ledger,
      {
        fault: 'kafka',
        killAt: kill,
        exitedAt: kill + 5,
        restartedAt: kill + 100,
        readyAt: kill + 5_000,
        endAt: T0 + 40_000,
      },
      points,
    );
    expect(result.restartReference).toBe('server ready');
    expect(result.firstDelivery.afterKillMs).toBe(6_010);
    expect(result.firstDelivery.afterRestartMs).toBe(1_010);
    expect(result.targets.firstDeliveryWithin10s).toBe(true);
    expect(result.rateBackTo90Percent.afterRestartMs).not.toBeNull();
    expect(result.lateness.max).toBe(6_010);
  });

  it('finds the peak intake rate over a 5 s window', () => {
    // 300/s for 10 s, then a catch-up burst of 900/s for 5 s.
    const times = [
      ...Array.from({ length: 3_000 }, (_, i) => T0 + Math.floor(i / 0.3)),
      ...Array.from({ length: 4_500 }, (_, i) => T0 + 10_000 + Math.floor(i / 0.9)),
    ];
    expect(peakRate(times, T0, T0 + 20_000)).toBe(900);
    expect(peakRate(times, T0, T0 + 10_000)).toBe(300);
  });

  it('counts a Redis phase as resumed only with a copy published after Redis was back', () => {
    const ledger = createLedger('t');
    const seq = ledger.offer(0, 0);
    ledger.received(seq, 1_100, 1_005); // claimed before the kill at 1000, published during the outage
    ledger.received(seq, 1_900, 1_850);
    const result = phaseResult(
      ledger,
      { fault: 'redis', killAt: 1_000, exitedAt: 1_010, restartedAt: 1_020, readyAt: 1_400, endAt: 3_000 },
      [],
    );
    expect(result.firstDelivery.afterRestartMs).toBe(500);
  });

  it('attributes a duplicate to the kill that left it unacknowledged, not to the phase its repeat lands in', () => {
    const ledger = createLedger('t');
    const seq = ledger.offer(0, 9_900);
    ledger.received(seq, 9_950, 9_940); // published just before the kill at 10 s
    ledger.received(seq, 40_000, 39_990); // its claim expired 30 s later, in the next phase
    const first = {
      fault: 'service' as const,
      killAt: 10_000,
      exitedAt: 10_050,
      restartedAt: 10_050,
      readyAt: null,
      endAt: 35_000,
    };
    const next = {
      fault: 'redis' as const,
      killAt: 35_000,
      exitedAt: 35_010,
      restartedAt: 35_020,
      readyAt: 35_300,
      endAt: 60_000,
    };
    expect(phaseResult(ledger, first, [])).toMatchObject({ duplicatesOfThisKill: 1, duplicatesReceived: 0 });
    expect(phaseResult(ledger, next, [])).toMatchObject({ duplicatesOfThisKill: 0, duplicatesReceived: 1 });
  });
});
