import type { Copy, Ledger } from './ledger.ts';
import { latenessOfDue } from './summaries.ts';

/** How each fault went, from a finished run's ledger: pure, no clock, no I/O. */

export type FaultKind = 'service' | 'redis' | 'kafka';

export interface PhaseTimes {
  fault: FaultKind;
  killAt: number;
  exitedAt: number;
  /** When the replacement process was spawned. */
  restartedAt: number;
  /** When the replacement was ready (redis/kafka: accepting clients; service: first /readyz 200). */
  readyAt: number | null;
  /** The next phase's kill, or the end of the run for the last phase. */
  endAt: number;
  /** What the harness read just before the kill (Redis's AOF state, say). */
  beforeKill?: Record<string, unknown>;
}

export interface RecoveryOptions {
  /** Width of the sliding window the delivery rate is measured over. */
  windowMs: number;
  stepMs: number;
  /** The rate must stay at or above the threshold this long to count as back. */
  sustainMs: number;
  /** Fraction of the offered rate (ids due in the same window) that counts as back. */
  threshold: number;
  /** The resume target, measured from the restart. */
  targetMs: number;
}

export const DEFAULT_RECOVERY: RecoveryOptions = {
  windowMs: 1_000,
  stepMs: 100,
  sustainMs: 10_000,
  threshold: 0.9,
  targetMs: 10_000,
};

export interface RatioPoint {
  /** End of the window (epoch ms). */
  at: number;
  delivered: number;
  due: number;
  ratio: number;
}

/**
 * Delivered against offered, per sliding window: first copies received in (at − window, at]
 * divided by the ids (accepted or not) due in the same window. Measuring the offer by due
 * times rather than the nominal rate removes the noise of random delays from the ratio.
 */
export function deliveryRatios(
  ledger: Pick<Ledger, 'dueAt' | 'firstReceivedAt'>,
  from: number,
  to: number,
  options: Pick<RecoveryOptions, 'windowMs' | 'stepMs'>,
): RatioPoint[] {
  const received = ledger.firstReceivedAt.filter((t) => t > 0).sort((a, b) => a - b);
  const due = [...ledger.dueAt].sort((a, b) => a - b);
  const points: RatioPoint[] = [];
  let rLo = 0;
  let rHi = 0;
  let dLo = 0;
  let dHi = 0;
  for (let at = from; at <= to; at += options.stepMs) {
    const start = at - options.windowMs;
    while (rHi < received.length && (received[rHi] ?? 0) <= at) rHi += 1;
    while (rLo < rHi && (received[rLo] ?? 0) <= start) rLo += 1;
    while (dHi < due.length && (due[dHi] ?? 0) <= at) dHi += 1;
    while (dLo < dHi && (due[dLo] ?? 0) <= start) dLo += 1;
    const delivered = rHi - rLo;
    const dueCount = dHi - dLo;
    points.push({ at, delivered, due: dueCount, ratio: dueCount === 0 ? 1 : delivered / dueCount });
  }
  return points;
}

/**
 * The first window end at or after `from` from which the ratio stays at or above the threshold
 * for `sustainMs` (within `until`); null when that never happens.
 */
export function recoveredAt(
  points: readonly RatioPoint[],
  from: number,
  until: number,
  options: Pick<RecoveryOptions, 'sustainMs' | 'threshold'>,
): number | null {
  let candidate: number | null = null;
  for (const point of points) {
    if (point.at < from || point.at > until) continue;
    if (point.ratio < options.threshold) {
      candidate = null;
      continue;
    }
    candidate ??= point.at;
    if (point.at - candidate >= options.sustainMs) return candidate;
  }
  return null;
}

/** The first copy published after `publishedAfter` (record time) and received at or after `receivedFrom`. */
export function firstDeliveryAfter(
  copies: readonly Copy[],
  publishedAfter: number,
  receivedFrom: number,
): Copy | undefined {
  let first: Copy | undefined;
  for (const copy of copies) {
    if (copy.receivedAt < receivedFrom || copy.publishedAt <= publishedAfter) continue;
    if (!first || copy.receivedAt < first.receivedAt) first = copy;
  }
  return first;
}

/**
 * What counts as deliveries resumed after each fault. Service: a copy the new process published
 * (record time after the killed one was gone). Redis: a copy published once Redis was back (a batch
 * claimed before the kill is published within milliseconds, before the restart). Kafka: any copy
 * received from the new broker, also one whose send started before the kill and was retried.
 */
function resumed(copies: readonly Copy[], phase: PhaseTimes): Copy | undefined {
  switch (phase.fault) {
    case 'service':
      return firstDeliveryAfter(copies, phase.exitedAt, phase.restartedAt);
    case 'redis':
      return firstDeliveryAfter(copies, phase.readyAt ?? phase.restartedAt, phase.restartedAt);
    case 'kafka':
      return firstDeliveryAfter(copies, Number.NEGATIVE_INFINITY, phase.restartedAt);
  }
}

/** The highest rate (per second, over `windowMs`) among sorted-or-not event times in [from, to). */
export function peakRate(times: readonly number[], from: number, to: number, windowMs = 5_000): number {
  const inside = times.filter((t) => t >= from && t < to).sort((a, b) => a - b);
  let peak = 0;
  let lo = 0;
  for (let hi = 0; hi < inside.length; hi += 1) {
    while ((inside[hi] ?? 0) - (inside[lo] ?? 0) >= windowMs) lo += 1;
    peak = Math.max(peak, hi - lo + 1);
  }
  return Math.round((peak * 1000) / windowMs);
}

/** The longest time in [from, to] without any copy received (the ends count as edges). */
export function longestSilence(copies: readonly Copy[], from: number, to: number): number {
  return longestSilenceOf(
    copies.map((c) => c.receivedAt),
    from,
    to,
  );
}

function longestSilenceOf(all: readonly number[], from: number, to: number): number {
  const times = all.filter((t) => t >= from && t <= to).sort((a, b) => a - b);
  let previous = from;
  let longest = 0;
  for (const t of [...times, to]) {
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  return longest;
}

/**
 * Ids published more than once whose first copy arrived from 1 s before this kill until 1 s
 * before the next: the copies this kill may have left unacknowledged. Their repeats arrive a claim
 * visibility (30 s by default) later, possibly in the next phase.
 */
function duplicatesOfKill(ledger: Ledger, phase: PhaseTimes): number {
  let count = 0;
  for (let seq = 0; seq < ledger.offered; seq += 1) {
    if ((ledger.copies[seq] ?? 0) < 2) continue;
    const first = ledger.firstReceivedAt[seq] ?? 0;
    if (first >= phase.killAt - 1_000 && first < phase.endAt - 1_000) count += 1;
  }
  return count;
}

const since = (at: number | null | undefined, origin: number): number | null =>
  at === null || at === undefined ? null : Math.round(at - origin);

export function phaseResult(
  ledger: Ledger,
  phase: PhaseTimes,
  points: readonly RatioPoint[],
  options: RecoveryOptions = DEFAULT_RECOVERY,
) {
  // The service's own start counts against it; Redis's and Kafka's start-up does not.
  const restartRef = phase.fault === 'service' ? phase.restartedAt : (phase.readyAt ?? phase.restartedAt);
  const first = resumed(ledger.copyLog, phase);
  const recovered = recoveredAt(
    points,
    Math.max(phase.restartedAt, phase.killAt + options.windowMs),
    phase.endAt,
    options,
  );
  const inPhase = ledger.copyLog.filter((c) => c.receivedAt >= phase.killAt && c.receivedAt < phase.endAt);
  const firstAfterRestart = since(first?.receivedAt, restartRef);
  const rateAfterRestart = since(recovered, restartRef);
  return {
    fault: phase.fault,
    killedAt: new Date(phase.killAt).toISOString(),
    exitedAfterKillMs: since(phase.exitedAt, phase.killAt),
    restartedAfterKillMs: since(phase.restartedAt, phase.killAt),
    readyAfterKillMs: since(phase.readyAt, phase.killAt),
    restartReference: phase.fault === 'service' ? 'spawn of the new process' : 'server ready',
    firstDelivery: {
      afterKillMs: since(first?.receivedAt, phase.killAt),
      afterRestartMs: firstAfterRestart,
      publishedAfterKillMs: since(first?.publishedAt, phase.killAt),
    },
    rateBackTo90Percent: {
      afterKillMs: since(recovered, phase.killAt),
      afterRestartMs: rateAfterRestart,
    },
    longestSilenceMs: Math.round(longestSilence(ledger.copyLog, phase.killAt, phase.endAt)),
    // How fast the intake took requests in at best: after a stall it must beat the offered rate to catch up.
    peakIntakePerSecond: peakRate(ledger.intakeTimes, phase.killAt, phase.endAt),
    longestRequestAckGapMs: Math.round(
      longestSilenceOf(
        ledger.acceptedAt.filter((t) => t > 0),
        phase.killAt,
        phase.endAt,
      ),
    ),
    minDeliveryRatio: minRatio(points, phase.killAt + options.windowMs, phase.endAt),
    lateness: latenessOfDue(ledger, phase.killAt, phase.endAt),
    copiesReceived: inPhase.length,
    // When repeated copies showed up: one claim visibility after the kill that left them unacknowledged.
    duplicatesReceived: inPhase.filter((c) => c.index > 0).length,
    duplicatesOfThisKill: duplicatesOfKill(ledger, phase),
    targets: {
      firstDeliveryWithin10s: firstAfterRestart !== null && firstAfterRestart <= options.targetMs,
      rateBackWithin10s: rateAfterRestart !== null && rateAfterRestart <= options.targetMs,
    },
  };
}

/** The share of windows in [from, to] at or above the threshold: how steady delivery is without a fault. */
export function shareAtOrAbove(points: readonly RatioPoint[], from: number, to: number, threshold: number) {
  const inside = points.filter((p) => p.at >= from && p.at <= to);
  if (inside.length === 0) return null;
  return Math.round((inside.filter((p) => p.ratio >= threshold).length / inside.length) * 1000) / 1000;
}

export function minRatio(points: readonly RatioPoint[], from: number, to: number): number | null {
  let min: number | null = null;
  for (const p of points) if (p.at >= from && p.at <= to) min = Math.min(min ?? p.ratio, p.ratio);
  return min === null ? null : Math.round(min * 1000) / 1000;
}
