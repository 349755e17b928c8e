import { distribution } from './check.ts';
import type { FaultPhase } from './records.ts';

/**
 * Recovery per fault, for one stream (delayed messages or cron triggers): each item is due at one
 * time and was first received at another (null: never). Pure.
 */
export interface Item {
  dueAt: number;
  /** When it was delivered (the run uses the record time of its first copy); null: never. */
  receivedAt: number | null;
}

export interface StreamRecovery {
  /**
   * The longest time without a first receipt inside the phase, and when it ended after the kill
   * (0 when it is shorter than the threshold: nothing stopped; null when it lasted to the phase's end).
   */
  longestSilenceMs: number;
  resumedAfterKillMs: number | null;
  /**
   * From the kill until the last item later than the threshold arrived: from then on, until the
   * next fault, everything came within the threshold. 0 when nothing was late.
   */
  lateUntilAfterKillMs: number | null;
  /** Items due in the phase (up to one threshold before its end) that arrived after it or never. */
  dueInPhaseNotReceivedInPhase: number;
  latenessInPhaseMs: ReturnType<typeof distribution>;
  /** Per second after the kill: [second, items delivered in it, the largest lateness among them]. */
  timeline: [number, number, number][];
}

export function streamRecovery(
  items: readonly Item[],
  phase: FaultPhase,
  thresholdMs: number,
): StreamRecovery {
  const { killAt, endAt } = phase;
  const received = items
    .map((i) => i.receivedAt)
    .filter((t): t is number => t !== null && t >= killAt && t < endAt)
    .sort((a, b) => a - b);
  let previous = killAt;
  let longest = 0;
  let resumedAt: number | null = null;
  for (const t of received) {
    if (t - previous > longest) {
      longest = t - previous;
      resumedAt = t;
    }
    previous = t;
  }
  if (endAt - previous > longest) {
    longest = endAt - previous;
    resumedAt = null;
  }
  let lateUntil = killAt;
  let unfinished = 0;
  const lateness: number[] = [];
  const seconds = new Map<number, [number, number, number]>();
  for (const item of items) {
    const dueInPhase = item.dueAt >= killAt && item.dueAt < endAt - thresholdMs;
    const receivedInPhase = item.receivedAt !== null && item.receivedAt >= killAt && item.receivedAt < endAt;
    if (dueInPhase && !receivedInPhase) unfinished += 1;
    if (!receivedInPhase || item.receivedAt === null) continue;
    const late = item.receivedAt - item.dueAt;
    lateness.push(late);
    const second = Math.floor((item.receivedAt - killAt) / 1000);
    const slot = seconds.get(second) ?? [second, 0, 0];
    slot[1] += 1;
    slot[2] = Math.max(slot[2], Math.round(late));
    seconds.set(second, slot);
    if (late > thresholdMs) lateUntil = Math.max(lateUntil, item.receivedAt);
  }
  // A silence shorter than the threshold is the load's own rhythm, not an outage.
  const resumed = longest < thresholdMs ? 0 : resumedAt === null ? null : Math.round(resumedAt - killAt);
  return {
    longestSilenceMs: Math.round(longest),
    resumedAfterKillMs: resumed,
    lateUntilAfterKillMs: unfinished > 0 ? null : Math.round(lateUntil - killAt),
    dueInPhaseNotReceivedInPhase: unfinished,
    latenessInPhaseMs: distribution(lateness),
    timeline: [...seconds.values()].sort((a, b) => a[0] - b[0]),
  };
}

export function phaseRecovery(
  phase: FaultPhase,
  streams: { delayed: readonly Item[]; triggers: readonly Item[] },
  thresholdMs: number,
) {
  const delayed = streamRecovery(streams.delayed, phase, thresholdMs);
  const triggers = streamRecovery(streams.triggers, phase, thresholdMs);
  const worst = (pick: (r: StreamRecovery) => number | null) => {
    const values = [pick(delayed), pick(triggers)];
    return values.includes(null) ? null : Math.max(...(values as number[]));
  };
  return {
    fault: phase.name,
    kind: phase.kind,
    target: phase.target,
    killedAt: new Date(phase.killAt).toISOString(),
    restartedAfterKillMs: phase.restartedAt === null ? null : phase.restartedAt - phase.killAt,
    phaseMs: phase.endAt - phase.killAt,
    /** Both streams delivering again / both back within the threshold (the slower of the two). */
    resumedAfterKillMs: worst((r) => r.resumedAfterKillMs),
    lateUntilAfterKillMs: worst((r) => r.lateUntilAfterKillMs),
    delayed,
    triggers,
    ...(phase.notes ? { notes: phase.notes } : {}),
  };
}
