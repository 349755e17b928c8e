import type { JsonObject } from '@openpenpal/event-store';
import { computeNextRunAt, type RecordedTaskEvent, type TaskState } from '@openpenpal/task-definitions';
import pg from 'pg';
import type { SORT_FIELDS, TaskView } from '../http/schemas.ts';

type SortField = (typeof SORT_FIELDS)[number];

/** ORDER BY terms by sort_by: SQL from this fixed map only, never from the request. */
const ORDER_BY: Record<SortField, string> = {
  created_at: 'created_at',
  updated_at: 'updated_at',
  name: 'name',
  task_type: 'task_type',
  last_run_at: 'last_run_at',
  run_count: 'run_count',
  priority: "CASE priority WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END",
};

interface TaskFilters {
  task_type?: string | undefined;
  priority?: string | undefined;
  status?: string | undefined;
  is_active?: boolean | undefined;
  page: number;
  page_size: number;
  sort_by: SortField;
  sort_order: 'asc' | 'desc';
}

export interface TaskStatsRow {
  run_count: number;
  failure_count: number;
  last_run_at: number | null;
  last_status: string | null;
  last_error: string | null;
  last_result: string | null;
  status: 'pending' | 'running' | 'completed' | 'failed';
}

interface OverviewRow {
  id: string;
  name: string;
  description: string | null;
  task_type: string;
  priority: string;
  cron_expression: string | null;
  timezone: string;
  scheduled_at: Date | null;
  payload: JsonObject;
  max_retries: number;
  timeout_secs: number;
  is_active: boolean;
  start_date: Date | null;
  end_date: Date | null;
  max_runs: number | null;
  misfire_policy: string;
  misfire_grace_ms: string;
  misfire_fire_all_cap: number;
  concurrency_policy: string;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  revision: string;
  run_count: string;
  failure_count: string;
  last_run_at: Date | null;
  last_status: string | null;
  last_error: string | null;
  last_result: string | null;
  status: TaskStatsRow['status'];
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const ms = (date: Date | null): number | null => (date === null ? null : date.getTime());

/** `next_run_at` with the ticker's cron functions; null when the schedule cannot be read. */
function nextRun(task: Parameters<typeof computeNextRunAt>[0], runCount: number, now: number): string | null {
  try {
    return iso(computeNextRunAt(task, { now, runCount }));
  } catch {
    return null;
  }
}

/** A task as the API shows it: the definition (from the event store) and its run counters. */
export function taskViewOf(task: TaskState, stats: TaskStatsRow | undefined, now: number): TaskView {
  const runCount = stats?.run_count ?? 0;
  return {
    id: task.task_id,
    name: task.name,
    description: task.description,
    task_type: task.task_type,
    priority: task.priority,
    status: stats?.status ?? 'pending',
    cron_expression: task.cron_expression,
    timezone: task.timezone,
    scheduled_at: iso(task.scheduled_at),
    next_run_at: nextRun(task, runCount, now),
    last_run_at: iso(stats?.last_run_at ?? null),
    last_status: stats?.last_status ?? null,
    run_count: runCount,
    failure_count: stats?.failure_count ?? 0,
    payload: task.payload,
    max_retries: task.max_retries,
    timeout_secs: task.timeout_secs,
    is_active: task.is_active,
    start_date: iso(task.start_date),
    end_date: iso(task.end_date),
    max_runs: task.max_runs,
    misfire_policy: task.misfire_policy,
    misfire_grace_ms: task.misfire_grace_ms,
    misfire_fire_all_cap: task.misfire_fire_all_cap,
    concurrency_policy: task.concurrency_policy,
    last_result: stats?.last_result ?? null,
    last_error: stats?.last_error ?? null,
    created_by: task.created_by,
    created_at: new Date(task.created_at).toISOString(),
    updated_at: new Date(task.updated_at).toISOString(),
    revision: task.revision,
  };
}

function rowView(row: OverviewRow, now: number): TaskView {
  const runCount = Number(row.run_count);
  const schedule = {
    cron_expression: row.cron_expression,
    timezone: row.timezone,
    scheduled_at: ms(row.scheduled_at),
    start_date: ms(row.start_date),
    end_date: ms(row.end_date),
    max_runs: row.max_runs,
    is_active: row.is_active,
  };
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    task_type: row.task_type,
    priority: row.priority,
    status: row.status,
    cron_expression: row.cron_expression,
    timezone: row.timezone,
    scheduled_at: row.scheduled_at?.toISOString() ?? null,
    next_run_at: nextRun(schedule, runCount, now),
    last_run_at: row.last_run_at?.toISOString() ?? null,
    last_status: row.last_status,
    run_count: runCount,
    failure_count: Number(row.failure_count),
    payload: row.payload,
    max_retries: row.max_retries,
    timeout_secs: row.timeout_secs,
    is_active: row.is_active,
    start_date: row.start_date?.toISOString() ?? null,
    end_date: row.end_date?.toISOString() ?? null,
    max_runs: row.max_runs,
    misfire_policy: row.misfire_policy,
    misfire_grace_ms: Number(row.misfire_grace_ms),
    misfire_fire_all_cap: row.misfire_fire_all_cap,
    concurrency_policy: row.concurrency_policy,
    last_result: row.last_result,
    last_error: row.last_error,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    revision: Number(row.revision),
  };
}

interface SchedulerStatsRow {
  total_tasks: number;
  tasks_by_status: Record<string, number>;
  tasks_by_type: Record<string, number>;
  avg_execution_time: number;
  success_rate: number;
}

export interface ActiveSchedule {
  id: string;
  name: string;
  cron_expression: string | null;
  timezone: string;
  next_run_at: string | null;
}

export interface TaskReads {
  list(filters: TaskFilters, now: number): Promise<{ tasks: TaskView[]; total: number }>;
  stats(taskId: string): Promise<TaskStatsRow | undefined>;
  summary(): Promise<SchedulerStatsRow>;
  /** Active, live tasks with what next_run_at needs (the scheduler status's next runs). */
  schedules(): Promise<ActiveSchedule[]>;
}

/**
 * Reads of the recorder's read models (schema `API_READ_MODEL_SCHEMA`): the task overview view,
 * the task stats and the executions. Eventually consistent with the event store: a command's own
 * answer comes from the store, lists from here. Every query is parameterised; the schema name is
 * validated config, quoted with pg's `escapeIdentifier`.
 */
export function createTaskReads(pool: pg.Pool, schema: string, clock: { now(): number }): TaskReads {
  const s = pg.escapeIdentifier(schema);
  const view = `${s}.task_overview`;
  const statsTable = `${s}.task_stats`;
  const executions = `${s}.executions`;
  return {
    list: async (filters, now) => {
      const direction = filters.sort_order === 'asc' ? 'ASC' : 'DESC';
      const nulls = filters.sort_order === 'asc' ? 'NULLS FIRST' : 'NULLS LAST';
      const where = `WHERE ($1::text IS NULL OR task_type = $1)
            AND ($2::text IS NULL OR priority = $2)
            AND ($3::text IS NULL OR status = $3)
            AND ($4::boolean IS NULL OR is_active = $4)`;
      const params = [
        filters.task_type ?? null,
        filters.priority ?? null,
        filters.status ?? null,
        filters.is_active ?? null,
      ];
      // Two queries rather than count(*) OVER (): the count alone skips the derived status (an
      // EXISTS per task) unless it filters on it, and the page evaluates it for its rows only.
      const [page, counted] = await Promise.all([
        pool.query<OverviewRow>(
          `SELECT * FROM ${view} ${where}
            ORDER BY ${ORDER_BY[filters.sort_by]} ${direction} ${nulls}, id ${direction}
            LIMIT $5 OFFSET $6`,
          [...params, filters.page_size, (filters.page - 1) * filters.page_size],
        ),
        pool.query<{ total: string }>(`SELECT count(*) AS total FROM ${view} ${where}`, params),
      ]);
      return {
        tasks: page.rows.map((row) => rowView(row, now)),
        total: Number(counted.rows[0]?.total ?? 0),
      };
    },
    stats: async (taskId) => {
      const { rows } = await pool.query<{
        run_count: string;
        failure_count: string;
        last_run_at: Date | null;
        last_status: string | null;
        last_error: string | null;
        last_result: string | null;
        running: boolean;
      }>(
        `SELECT s.run_count, s.failure_count, s.last_run_at, s.last_status, s.last_error, s.last_result,
                EXISTS (SELECT 1 FROM ${executions} e WHERE e.task_id = $1
                         AND e.status IN ('triggered', 'running', 'retry_scheduled')) AS running
           FROM ${statsTable} s WHERE s.task_id = $1`,
        [taskId],
      );
      const row = rows[0];
      if (row === undefined) return undefined;
      return {
        run_count: Number(row.run_count),
        failure_count: Number(row.failure_count),
        last_run_at: ms(row.last_run_at),
        last_status: row.last_status,
        last_error: row.last_error,
        last_result: row.last_result,
        status: row.running
          ? 'running'
          : row.last_status === 'failed'
            ? 'failed'
            : row.last_status === null
              ? 'pending'
              : 'completed',
      };
    },
    summary: async () => {
      const [byStatus, byType, timing] = await Promise.all([
        pool.query<{ status: string; n: string }>(
          `SELECT status, count(*) AS n FROM ${view} GROUP BY status`,
        ),
        pool.query<{ task_type: string; n: string }>(
          `SELECT task_type, count(*) AS n FROM ${view} GROUP BY task_type`,
        ),
        pool.query<{ avg_ms: string | null; succeeded: string; finished: string }>(
          `SELECT avg(duration_ms) AS avg_ms,
                  count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
                  count(*) FILTER (WHERE status IN ('succeeded', 'failed', 'dead_lettered')) AS finished
             FROM ${executions} WHERE finished_at > $1`,
          [new Date(clock.now() - 7 * 24 * 3_600_000)],
        ),
      ]);
      const tasksByStatus = Object.fromEntries(byStatus.rows.map((r) => [r.status, Number(r.n)]));
      const finished = Number(timing.rows[0]?.finished ?? 0);
      return {
        total_tasks: Object.values(tasksByStatus).reduce((a, b) => a + b, 0),
        tasks_by_status: tasksByStatus,
        tasks_by_type: Object.fromEntries(byType.rows.map((r) => [r.task_type, Number(r.n)])),
        avg_execution_time: Math.round(Number(timing.rows[0]?.avg_ms ?? 0)),
        success_rate: finished === 0 ? 0 : Number(timing.rows[0]?.succeeded ?? 0) / finished,
      };
    },
    schedules: async () => {
      const now = clock.now();
      const { rows } = await pool.query<OverviewRow>(`SELECT * FROM ${view} WHERE is_active`);
      return rows.map((row) => {
        const view = rowView(row, now);
        return {
          id: view.id,
          name: view.name,
          cron_expression: view.cron_expression,
          timezone: view.timezone,
          next_run_at: view.next_run_at,
        };
      });
    },
  };
}

/** A task event as the history routes show it (the same shape as an execution's recorded events). */
export function taskEventView(event: RecordedTaskEvent) {
  return {
    id: event.id,
    type: event.type,
    revision: String(event.revision),
    position: event.position.toString(),
    recorded_at: event.recordedAt.toISOString(),
    data: event.data as unknown as Record<string, unknown>,
    metadata: {},
  };
}
