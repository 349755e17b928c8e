import type { ExecutionState } from './execution-fold.ts';

/** Per-task counters over its executions: one row of the recorder's `task_stats` read model. */
export interface TaskStats {
  task_id: string;
  /** Executions that started (an ExecutionStarted, or a finished attempt implying one). */
  run_count: number;
  /** Executions that failed for good (ExecutionDeadLettered). */
  failure_count: number;
  /** Start of the latest run. */
  last_run_at: number | null;
  /** Outcome of the latest finished execution: succeeded, failed (dead-lettered) or skipped. */
  last_status: TaskRunOutcome | null;
  /** `<error_code>: <error_message>` when the latest finished execution failed, else null. */
  last_error: string | null;
  /** The latest successful run's result (JSON text), kept across later failures. */
  last_result: string | null;
  /** When the latest finished execution finished: later outcomes only replace earlier ones. */
  last_finished_at: number | null;
  updated_at: number;
}

export type TaskRunOutcome = 'succeeded' | 'failed' | 'skipped';

const OUTCOMES: Partial<Record<ExecutionState['status'], TaskRunOutcome>> = {
  succeeded: 'succeeded',
  dead_lettered: 'failed',
  skipped: 'skipped',
};

export function emptyTaskStats(taskId: string, at: number): TaskStats {
  return {
    task_id: taskId,
    run_count: 0,
    failure_count: 0,
    last_run_at: null,
    last_status: null,
    last_error: null,
    last_result: null,
    last_finished_at: null,
    updated_at: at,
  };
}

/**
 * The counters after one execution moved from `before` to `after`; pure. Counting transitions, not
 * events, keeps a redelivered or out-of-order event from counting twice.
 */
export function evolveTaskStats(
  stats: TaskStats | undefined,
  before: ExecutionState | undefined,
  after: ExecutionState,
): TaskStats {
  const current = stats ?? emptyTaskStats(after.task_id, after.updated_at);
  const next: TaskStats = { ...current, updated_at: Math.max(current.updated_at, after.updated_at) };
  if ((before?.started_at ?? null) === null && after.started_at !== null) {
    next.run_count += 1;
    next.last_run_at =
      next.last_run_at === null ? after.started_at : Math.max(next.last_run_at, after.started_at);
  }
  const outcome = OUTCOMES[after.status];
  if (outcome === undefined || before?.status === after.status) return next;
  if (outcome === 'failed') next.failure_count += 1;
  const finished = after.finished_at ?? after.updated_at;
  if (next.last_finished_at !== null && finished < next.last_finished_at) return next;
  next.last_finished_at = finished;
  next.last_status = outcome;
  next.last_error =
    outcome === 'failed' ? `${after.error_code ?? 'UNKNOWN'}: ${after.error_message ?? ''}` : null;
  if (outcome === 'succeeded' && after.result !== null) next.last_result = after.result;
  return next;
}
