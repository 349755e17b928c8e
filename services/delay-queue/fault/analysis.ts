import type { Copy, Ledger } from './ledger.ts';

/** Pure calculations over a finished run's ledger: no clock, no I/O. */

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

export interface LatenessSummary {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

/** Nearest-rank percentiles (ms, rounded) of `values`; nulls when empty. */
export function summarise(values: readonly number[]): LatenessSummary {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const at = (p: number): number | null => {
    if (sorted.length === 0) return null;
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
    return Math.round(sorted[rank] ?? 0);
  };
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: at(1) };
}

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

/** The first copy published after the kill (record time) and received after the restart. */
export function firstDeliveryAfter(
  copies: readonly Copy[],
  killAt: number,
  restartedAt: number,
): Copy | undefined {
  let first: Copy | undefined;
  for (const copy of copies) {
    if (copy.receivedAt < restartedAt || copy.publishedAt < killAt) continue;
    if (!first || copy.receivedAt < first.receivedAt) first = copy;
  }
  return first;
}

/** The longest time in [from, to] without any copy received (the ends count as edges). */
export function longestSilence(copies: readonly Copy[], from: number, to: number): number {
  const times = copies
    .map((c) => c.receivedAt)
    .filter((t) => t >= from && t <= to)
    .sort((a, b) => a - b);
  let previous = from;
  let longest = 0;
  for (const t of [...times, to]) {
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  return longest;
}

/** Lateness (first copy received − due) of the ids due in [from, to). */
export function latenessOfDue(ledger: Ledger, from: number, to: number) {
  const late: number[] = [];
  const lateAfterAccept: number[] = [];
  let undelivered = 0;
  for (let seq = 0; seq < ledger.offered; seq += 1) {
    const due = ledger.dueAt[seq] ?? 0;
    if (due < from || due >= to) continue;
    const received = ledger.firstReceivedAt[seq] ?? 0;
    if (received === 0) {
      undelivered += 1;
      continue;
    }
    late.push(received - due);
    lateAfterAccept.push(received - Math.max(due, ledger.acceptedAt[seq] ?? 0));
  }
  return {
    ...summarise(late),
    undelivered,
    // What the delay queue owes once Kafka had the request: a due time that passed while the
    // requester could not reach Kafka is not the queue's lateness.
    maxAfterAcceptMs:
      lateAfterAccept.length === 0 ? null : Math.round(lateAfterAccept.reduce((a, b) => Math.max(a, b))),
  };
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
  const first = firstDeliveryAfter(ledger.copyLog, phase.killAt, phase.restartedAt);
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
    minDeliveryRatio: minRatio(points, phase.killAt + options.windowMs, phase.endAt),
    lateness: latenessOfDue(ledger, phase.killAt, phase.endAt),
    copiesReceived: inPhase.length,
    duplicatesReceived: inPhase.filter((c) => c.index > 0).length,
    targets: {
      firstDeliveryWithin10s: firstAfterRestart !== null && firstAfterRestart <= options.targetMs,
      rateBackWithin10s: rateAfterRestart !== null && rateAfterRestart <= options.targetMs,
    },
  };
}

export type PhaseResult = ReturnType<typeof phaseResult>;

export function minRatio(points: readonly RatioPoint[], from: number, to: number): number | null {
  let min: number | null = null;
  for (const p of points) if (p.at >= from && p.at <= to) min = Math.min(min ?? p.ratio, p.ratio);
  return min === null ? null : Math.round(min * 1000) / 1000;
}

export function totals(ledger: Ledger, sampleSize = 20) {
  let accepted = 0;
  let delivered = 0;
  let deliveredUnaccepted = 0;
  let duplicates = 0;
  let idsWithDuplicates = 0;
  let maxCopies = 0;
  let withoutEvent = 0;
  let dispatchedEvents = 0;
  let redeliveredEvents = 0;
  const lost: string[] = [];
  let lostCount = 0;
  const late: number[] = [];
  const serviceLate: number[] = [];
  for (let seq = 0; seq < ledger.offered; seq += 1) {
    const copies = ledger.copies[seq] ?? 0;
    const wasAccepted = (ledger.acceptedAt[seq] ?? 0) > 0;
    dispatchedEvents += ledger.dispatchedEvents[seq] ?? 0;
    redeliveredEvents += ledger.redeliveredEvents[seq] ?? 0;
    if (wasAccepted) accepted += 1;
    if (copies > 0) {
      if (wasAccepted) delivered += 1;
      else deliveredUnaccepted += 1;
      late.push((ledger.firstReceivedAt[seq] ?? 0) - (ledger.dueAt[seq] ?? 0));
      if ((ledger.dispatchedEvents[seq] ?? 0) === 0) withoutEvent += 1;
    } else if (wasAccepted) {
      lostCount += 1;
      if (lost.length < sampleSize) lost.push(ledger.idOf(seq));
    }
    if (copies > 1) {
      duplicates += copies - 1;
      idsWithDuplicates += 1;
    }
    maxCopies = Math.max(maxCopies, copies);
    const own = ledger.serviceLateness[seq] ?? Number.NaN;
    if (!Number.isNaN(own)) serviceLate.push(own);
  }
  return {
    offered: ledger.offered,
    acceptedByKafka: accepted,
    notAccepted: ledger.offered - accepted,
    delivered,
    deliveredButNotAccepted: deliveredUnaccepted,
    lost: lostCount,
    lostSample: lost,
    copiesReceived: ledger.copyLog.length,
    duplicates,
    idsWithDuplicates,
    maxCopiesOfOneId: maxCopies,
    foreignCopies: ledger.foreign,
    latenessEndToEndMs: summarise(late),
    latenessReportedByServiceMs: summarise(serviceLate),
    events: {
      dispatched: dispatchedEvents,
      dispatchedRedelivered: redeliveredEvents,
      deliveredWithoutDispatchedEvent: withoutEvent,
      scheduledOutcomes: { ...ledger.scheduledOutcomes },
    },
  };
}

export type Totals = ReturnType<typeof totals>;
