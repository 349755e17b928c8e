/**
 * What a cluster fault run observes, as plain records: the checker (check.ts) reads only these, so
 * its tests build them by hand and a run's raw observations can be checked again from its report.
 */

/** A delayed message the load asked for. */
export interface DelayedOffer {
  /** The logical message: the request's `message_id`, also the target record's key. */
  id: string;
  dueAt: number;
  /** When Kafka acknowledged the request (acks=all); null while it never did. */
  acceptedAt: number | null;
}

/** One record read from the target topic (each partition offset once). */
export interface DelayedCopy {
  /** The record key: which logical message this is. */
  key: string;
  /** The `message-id` header, what a deduplicating consumer keys on. */
  messageId: string;
  receivedAt: number;
  /** The record's timestamp (CreateTime): when the delay queue's producer wrote it. */
  publishedAt: number;
  partition: number;
  offset: string;
}

/** The cron tasks of the run: each fires every second from `from` to `to` (nominal times, inclusive). */
export interface CronPlan {
  taskId: string;
  /** The first nominal time the task must fire (the first whole second after the ticker took it in). */
  from: number;
  /** The last nominal time it must fire (the load's end). */
  to: number;
  periodMs: number;
}

/** One trigger read from the trigger topic (each partition offset once). */
export interface TriggerCopy {
  taskId: string;
  nominalTime: number;
  fireTime: number;
  /** The `message-id` header (the execution id). */
  messageId: string;
  executionId: string;
  fencingToken: number;
  receivedAt: number;
  /** The record's timestamp (CreateTime): when the ticker's producer wrote it. */
  publishedAt: number;
}

/** A `leadership acquired` line of a ticker process's log. */
export interface Acquisition {
  process: string;
  token: number;
  at: number;
}

/** A fault the run injected, with the times the harness saw. */
export interface FaultPhase {
  name: string;
  kind: 'kafka-broker' | 'redis-primary' | 'service-instances';
  /** What was killed (node, pids, process names). */
  target: string;
  killAt: number;
  /** When the killed parts were started again. */
  restartedAt: number | null;
  /** The next fault's kill, or the end of the load for the last. */
  endAt: number;
  notes?: Record<string, unknown>;
}

export interface Observations {
  offers: readonly DelayedOffer[];
  delayedCopies: readonly DelayedCopy[];
  plans: readonly CronPlan[];
  triggerCopies: readonly TriggerCopy[];
  acquisitions: readonly Acquisition[];
  /** The highest token in PostgreSQL's `ticker_fencing_tokens` at the end; null when not read. */
  storedToken: number | null;
  /** Execution ids of the run's tasks in the recorder's read model; absent when the recorder did not run. */
  recordedExecutions?: readonly string[] | null;
  phases: readonly FaultPhase[];
}
