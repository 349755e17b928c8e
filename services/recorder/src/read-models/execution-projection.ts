import type { RecordedEvent } from '@openpenpal/event-store';
import {
  evolveExecution,
  evolveTaskStats,
  recordedKeyOf,
  type ExecutionState,
  type ExecutionStatus,
  type TaskRunOutcome,
  type TaskStats,
} from '@openpenpal/task-definitions';
import type pg from 'pg';
import type { ReadModelNames } from './schema.ts';

const ms = (value: Date | null): number | null => (value === null ? null : value.getTime());
const iso = (value: number | null): string | null => (value === null ? null : new Date(value).toISOString());
const int = (value: string | number | null): number | null => (value === null ? null : Number(value));

interface ExecutionRow {
  execution_id: string;
  task_id: string;
  task_type: string;
  status: ExecutionStatus;
  attempts: number;
  nominal_time: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: string | null;
  error_code: string | null;
  error_message: string | null;
  worker: string | null;
  source: string | null;
  original_execution_id: string | null;
  business_key: string | null;
  trigger_topic: string | null;
  result: string | null;
  replayed_as: string | null;
  /** A number, or text when an operator widened the column to bigint. */
  progress: number | string;
  updated_at: Date;
}

interface StatsRow {
  task_id: string;
  run_count: string;
  failure_count: string;
  last_run_at: Date | null;
  last_status: TaskRunOutcome | null;
  last_error: string | null;
  last_result: string | null;
  last_finished_at: Date | null;
  updated_at: Date;
}

function toExecutionState(row: ExecutionRow): ExecutionState {
  return {
    ...row,
    nominal_time: ms(row.nominal_time),
    started_at: ms(row.started_at),
    finished_at: ms(row.finished_at),
    duration_ms: int(row.duration_ms),
    progress: Number(row.progress),
    updated_at: row.updated_at.getTime(),
  };
}

function toStats(row: StatsRow): TaskStats {
  return {
    ...row,
    run_count: Number(row.run_count),
    failure_count: Number(row.failure_count),
    last_run_at: ms(row.last_run_at),
    last_finished_at: ms(row.last_finished_at),
    updated_at: row.updated_at.getTime(),
  };
}

// Column order of the upserts; each value array is built in the same order. Whole numbers are sent as
// bigint arrays whatever their column, so that the column alone says what fits (widen it, and the
// events parked for not fitting apply on retry).
const EXECUTION_COLUMNS = [
  ['execution_id', 'text'],
  ['task_id', 'text'],
  ['task_type', 'text'],
  ['status', 'text'],
  ['attempts', 'bigint'],
  ['nominal_time', 'timestamptz'],
  ['started_at', 'timestamptz'],
  ['finished_at', 'timestamptz'],
  ['duration_ms', 'bigint'],
  ['error_code', 'text'],
  ['error_message', 'text'],
  ['worker', 'text'],
  ['source', 'text'],
  ['original_execution_id', 'text'],
  ['business_key', 'text'],
  ['trigger_topic', 'text'],
  ['result', 'text'],
  ['replayed_as', 'text'],
  ['progress', 'bigint'],
  ['updated_at', 'timestamptz'],
] as const;

const STATS_COLUMNS = [
  ['task_id', 'text'],
  ['run_count', 'bigint'],
  ['failure_count', 'bigint'],
  ['last_run_at', 'timestamptz'],
  ['last_status', 'text'],
  ['last_error', 'text'],
  ['last_result', 'text'],
  ['last_finished_at', 'timestamptz'],
  ['updated_at', 'timestamptz'],
] as const;

const TIMES = new Set([
  'nominal_time',
  'started_at',
  'finished_at',
  'updated_at',
  'last_run_at',
  'last_finished_at',
]);

/** One INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE for many rows: one round trip per table. */
function upsertSql(table: string, columns: readonly (readonly [string, string])[]): string {
  const names = columns.map(([name]) => name);
  const arrays = columns.map(([, type], index) => `$${index + 1}::${type}[]`).join(', ');
  const updates = names
    .slice(1)
    .map((name) => `${name} = EXCLUDED.${name}`)
    .join(', ');
  return `INSERT INTO ${table} (${names.join(', ')}) SELECT * FROM unnest(${arrays})
          ON CONFLICT (${names[0] ?? ''}) DO UPDATE SET ${updates}`;
}

function columnArrays(
  rows: readonly Record<string, unknown>[],
  columns: readonly (readonly [string, string])[],
): unknown[][] {
  return columns.map(([name]) =>
    rows.map((row) => (TIMES.has(name) ? iso(row[name] as number | null) : (row[name] ?? null))),
  );
}

export interface ExecutionProjection {
  /** Applies a batch of `execution` events inside the caller's transaction. */
  apply(client: pg.ClientBase, events: readonly RecordedEvent[]): Promise<void>;
}

/**
 * The `executions` and `task_stats` read models. A batch loads the rows it touches, folds its events
 * into them in position order with the same pure functions a fresh fold uses (so a rebuild gives the
 * same rows), and writes each changed row once.
 */
export function createExecutionProjection(names: ReadModelNames): ExecutionProjection {
  const upsertExecutions = upsertSql(names.executions, EXECUTION_COLUMNS);
  const upsertStats = upsertSql(names.taskStats, STATS_COLUMNS);
  return {
    apply: async (client, events) => {
      const keyOf = (event: RecordedEvent): string => recordedKeyOf('execution', event);
      const ids = [...new Set(events.map(keyOf))];
      const loaded = await client.query<ExecutionRow>(
        `SELECT * FROM ${names.executions} WHERE execution_id = ANY($1::text[])`,
        [ids],
      );
      const executions = new Map(loaded.rows.map((row) => [row.execution_id, toExecutionState(row)]));
      const taskIds = new Set(loaded.rows.map((row) => row.task_id));
      for (const event of events) {
        if (typeof event.data.task_id === 'string') taskIds.add(event.data.task_id);
      }
      const loadedStats = await client.query<StatsRow>(
        `SELECT * FROM ${names.taskStats} WHERE task_id = ANY($1::text[])`,
        [[...taskIds]],
      );
      const stats = new Map(loadedStats.rows.map((row) => [row.task_id, toStats(row)]));
      const changedExecutions = new Set<string>();
      const changedStats = new Set<string>();
      for (const event of events) {
        const id = keyOf(event);
        const before = executions.get(id);
        const after = evolveExecution(before, {
          type: event.type,
          data: event.data,
          recordedAt: event.createdAt.getTime(),
        });
        if (after === undefined || after === before) continue;
        // The stream's key is the row's; a first event without the envelope (none today) would leave it empty.
        if (after.execution_id !== id) after.execution_id = id;
        executions.set(id, after);
        changedExecutions.add(id);
        if (after.task_id === '') continue;
        stats.set(after.task_id, evolveTaskStats(stats.get(after.task_id), before, after));
        changedStats.add(after.task_id);
      }
      const executionRows = [...changedExecutions].map(
        (id) => executions.get(id) as unknown as Record<string, unknown>,
      );
      const statsRows = [...changedStats].map((id) => stats.get(id) as unknown as Record<string, unknown>);
      if (executionRows.length > 0)
        await client.query(upsertExecutions, columnArrays(executionRows, EXECUTION_COLUMNS));
      if (statsRows.length > 0) await client.query(upsertStats, columnArrays(statsRows, STATS_COLUMNS));
    },
  };
}
