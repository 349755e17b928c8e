import { sleep } from '@openpenpal/timing';

/** Thrown when shutdown or a rebalance interrupts a message: it is neither done nor dead-lettered, so not committed. */
export class ProcessingAborted extends Error {
  constructor(reason = 'processing aborted by shutdown') {
    super(reason);
    this.name = 'ProcessingAborted';
  }
}

/** The partition a message is processed on, as far as waiting is concerned. */
export interface PartitionHold {
  /** Aborted at the shutdown deadline. */
  signal: AbortSignal;
  /** Keeps the group membership alive (kafkajs throttles it to the heartbeat interval). */
  heartbeat(): Promise<void>;
  /** True once the partition was taken away (rebalance, seek) or the consumer stops. */
  isStale(): boolean;
}

// A call, not a property read: TypeScript would keep a narrowed `signal.aborted` across awaits.
export function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

const HEARTBEAT_SLICE_MS = 1_000;

/**
 * Waits `ms` while a message holds its partition (a retry's backoff, an outage), heartbeating at
 * least once a second so an outage longer than the session timeout does not rebalance the group.
 * Throws ProcessingAborted when shutdown aborts or the partition goes away meanwhile.
 */
export async function waitHolding(hold: PartitionHold, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (isAborted(hold.signal)) throw new ProcessingAborted();
    if (hold.isStale()) throw new ProcessingAborted('the partition was revoked while it was held');
    const left = until - Date.now();
    if (left <= 0) return;
    await sleep(Math.min(left, HEARTBEAT_SLICE_MS), hold.signal);
    // A heartbeat refused during a rebalance shows up as isStale() on the next turn.
    await hold.heartbeat().catch(() => undefined);
  }
}
