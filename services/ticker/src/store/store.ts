import { SchedulerError } from '@openpenpal/errors';

/** How far a task's schedule has been handled: every nominal time up to `lastNominal` was fired or recorded missed. */
export interface Checkpoint {
  lastNominal: number;
  /** Runs started so far (scheduled and run_now), for max_runs. */
  runCount: number;
  /** The leader last saw the task inactive: when it comes back, times while it was off are not caught up. */
  off: boolean;
}

export interface PauseState {
  paused: boolean;
  /** When the current (or last) pause began. */
  since?: number | undefined;
  /** When the last pause ended; nominal times in [since, resumedAt] missed are recorded as `paused`. */
  resumedAt?: number | undefined;
  commandId?: string | undefined;
  by?: string | undefined;
}

/** Written before triggers are sent; a successor reads Kafka from `since` to learn what was sent. */
export interface InflightMarker {
  token: number;
  since: number;
  topics: string[];
}

export interface RunningMark {
  taskId: string;
  executionId: string;
  /** After this the mark no longer blocks: its execution is presumed lost. */
  deadline: number;
}

export interface CommitRequest {
  checkpoints: ReadonlyMap<string, Checkpoint>;
  /** Deleted tasks: their checkpoint and running state go. */
  deletes: readonly string[];
  running: readonly RunningMark[];
  /** run_now executions now applied, so a redelivered command is not fired again. */
  doneExecutions: readonly string[];
  clearInflight: boolean;
}

interface StoredState {
  checkpoints: Map<string, Checkpoint>;
  inflight: InflightMarker | undefined;
  pause: PauseState;
}

/**
 * The ticker's durable state. Every write but `finishRunning` is fenced by the caller's lease
 * value and fails with `fencedOut()` when a newer leader holds the lease.
 */
export interface TickerStore {
  load(): Promise<StoredState>;
  /** Records the inflight marker and returns forbid-policy tasks refused: task_id → running execution. */
  begin(
    fence: string,
    now: number,
    marker: InflightMarker,
    claims: readonly { taskId: string; executionId: string }[],
  ): Promise<Map<string, string>>;
  commit(fence: string, now: number, request: CommitRequest): Promise<void>;
  setPause(fence: string, state: PauseState): Promise<void>;
  /** Which of these run_now executions were already applied. */
  doneExecutions(executionIds: readonly string[]): Promise<Set<string>>;
  finishRunning(taskId: string, executionId: string): Promise<boolean>;
  /** task_id → `<partition>:<offset>` of the invalid definition record already dead-lettered. */
  deadLetteredDefinitions(): Promise<Map<string, string>>;
  /** Remembers dead-lettered definition records and forgets tasks no longer invalid (fenced). */
  recordDeadLetteredDefinitions(
    fence: string,
    dead: readonly (readonly [taskId: string, record: string])[],
    forget: readonly string[],
  ): Promise<void>;
}

export function fencedOut(): SchedulerError {
  return new SchedulerError('CONFLICT', 'fenced out: another ticker holds the leader lease', {
    details: { reason: 'fenced_out' },
  });
}

export function isFencedOut(error: unknown): boolean {
  return (
    error instanceof SchedulerError && error.code === 'CONFLICT' && error.details.reason === 'fenced_out'
  );
}

export function encodeCheckpoint(c: Checkpoint): string {
  return `${c.lastNominal}|${c.runCount}|${c.off ? 1 : 0}`;
}

export function decodeCheckpoint(text: string): Checkpoint | undefined {
  const [last, runs, off] = text.split('|');
  const lastNominal = Number(last);
  const runCount = Number(runs);
  if (!Number.isFinite(lastNominal) || !Number.isSafeInteger(runCount)) return undefined;
  return { lastNominal, runCount, off: off === '1' };
}
