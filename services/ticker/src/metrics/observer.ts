import type { MissReason, SkipReason, TaskCommandType, TaskType, TriggerSource } from '@openpenpal/contracts';

/** What the scheduler reports as it works; metrics.ts turns it into Prometheus series. */
export interface TickerObserver {
  /**
   * Kafka acknowledged these triggers at `ackAt`: fire lag is ackAt − nominal for each, except for
   * a fire later than its task's misfire grace — a time the misfire policy fired after downtime or
   * a pause, counted apart so that it does not read as the ticker being slow.
   */
  acknowledged(
    fires: readonly { nominal: number; taskType: TaskType; source: TriggerSource; graceMs: number }[],
    ackAt: number,
  ): void;
  missed(reason: MissReason, count: number): void;
  skipped(reason: SkipReason, count: number): void;
  leader(isLeader: boolean): void;
  paused(isPaused: boolean): void;
  command(command: TaskCommandType, outcome: CommandOutcome): void;
  batchFailed(): void;
  /**
   * Where one instant's fire lag went (epoch ms; the benchmark): the batch started (planned),
   * its triggers were fenced and encoded, released at the instant, acknowledged; then how long
   * its follow-up held the leader loop. Reported once the batch is committed.
   */
  fireStages?(stages: FireStages): void;
  /** The definitions table was loaded `ms` after the ticker started reading it (the benchmark). */
  tableLoaded?(ms: number): void;
}

export interface FireStages {
  /** The nominal instant the batch fires (its release time). */
  instant: number;
  triggers: number;
  started: number;
  prepared: number;
  /** Transactional sends: the instant's transaction was being written from, and acknowledged at. */
  staging?: number;
  staged?: number | undefined;
  released: number;
  acked: number;
  /** The follow-up before the next instant can be prepared: next times worked out, */
  lookedAhead: number;
  /** TaskTriggered events acknowledged, */
  eventsSent: number;
  /** checkpoints committed. */
  committed: number;
}

export type CommandOutcome =
  | 'applied'
  | 'duplicate'
  | 'unknown_task'
  | 'rejected'
  | 'ignored'
  /** Refused by the shared rules (dead-lettered with VALIDATION_FAILED). */
  | 'invalid'
  /** A run_now older than TICKER_RUN_NOW_MAX_AGE_MS. */
  | 'expired';

export const noopObserver: TickerObserver = {
  acknowledged: () => undefined,
  missed: () => undefined,
  skipped: () => undefined,
  leader: () => undefined,
  paused: () => undefined,
  command: () => undefined,
  batchFailed: () => undefined,
};
