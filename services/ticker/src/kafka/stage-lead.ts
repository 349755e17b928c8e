/**
 * How long before an instant its transaction is written (TICKER_TRIGGER_SEND=transactional). Long
 * enough for the write of that many triggers to be acknowledged before the instant, and no longer:
 * while the transaction is open, consumers that read committed stop at it on every partition it
 * wrote to, so the delay queue's exact-time triggers on the same topics wait for the commit too.
 *
 * The estimate follows recent writes: a fixed part (the smallest recent write: the
 * AddPartitionsToTxn and produce round trips) plus a per-trigger part (the 75th percentile of the
 * rest per trigger — kafkajs builds the request in JavaScript, so it grows with the triggers),
 * times a safety factor, plus a margin for the timer.
 */
export interface StageLead {
  /** Milliseconds before the instant to start writing `triggers` triggers. */
  leadMs(triggers: number): number;
  /** A write of `triggers` triggers took `ms` until acknowledged. */
  record(triggers: number, ms: number): void;
}

export interface StageLeadOptions {
  /** Recent writes kept (default 64). */
  samples?: number;
  /** Multiplies the estimate (default 1.25). */
  factor?: number;
  /** Added after the factor: the timer's wake-up and the gap before the commit (default 5 ms). */
  marginMs?: number;
  /** Until writes were seen: fixed part (default 10 ms) and per trigger (default 0.05 ms). */
  initialFixedMs?: number;
  initialPerTriggerMs?: number;
}

export function createStageLead(options: StageLeadOptions = {}): StageLead {
  const size = options.samples ?? 64;
  const factor = options.factor ?? 1.25;
  const margin = options.marginMs ?? 5;
  const seen: { triggers: number; ms: number }[] = [];
  let fixed = options.initialFixedMs ?? 10;
  let perTrigger = options.initialPerTriggerMs ?? 0.05;

  const refit = () => {
    fixed = Math.min(...seen.map((s) => s.ms));
    const rates = seen.map((s) => Math.max(0, s.ms - fixed) / Math.max(1, s.triggers)).sort((a, b) => a - b);
    perTrigger = rates[Math.min(rates.length - 1, Math.floor(rates.length * 0.75))] ?? perTrigger;
  };

  return {
    leadMs: (triggers) => Math.ceil(margin + factor * (fixed + perTrigger * triggers)),
    record: (triggers, ms) => {
      seen.push({ triggers, ms });
      if (seen.length > size) seen.shift();
      refit();
    },
  };
}
