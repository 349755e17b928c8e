import { SchedulerError } from '@openpenpal/errors';
import type pg from 'pg';

/** Quoted table names of the read models in one schema (the name is validated, so safe to splice). */
export interface ReadModelNames {
  schema: string;
  checkpoints: string;
  executions: string;
  taskStats: string;
  tasks: string;
  taskOverview: string;
}

const SCHEMA = /^[a-z_][a-z0-9_]*$/;

export function readModelNames(schema: string): ReadModelNames {
  if (!SCHEMA.test(schema) || schema.length > 60) {
    throw new SchedulerError('CONFIG_INVALID', 'the read model schema must match /^[a-z_][a-z0-9_]*$/', {
      details: { schema },
    });
  }
  const q = (table: string) => `"${schema}".${table}`;
  return {
    schema,
    checkpoints: q('checkpoints'),
    executions: q('executions'),
    taskStats: q('task_stats'),
    tasks: q('tasks'),
    taskOverview: q('task_overview'),
  };
}

/** Execution statuses that count as still in progress (the task overview shows the task as running). */
const ACTIVE_STATUSES = ['triggered', 'running', 'retry_scheduled'] as const;

function statements(n: ReadModelNames): string[] {
  const active = ACTIVE_STATUSES.map((status) => `'${status}'`).join(', ');
  return [
    `CREATE SCHEMA IF NOT EXISTS "${n.schema}"`,
    `CREATE TABLE IF NOT EXISTS ${n.checkpoints} (
       name       text        PRIMARY KEY,
       position   bigint      NOT NULL,
       updated_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE IF NOT EXISTS ${n.executions} (
       execution_id          text        PRIMARY KEY,
       task_id               text        NOT NULL,
       task_type             text        NOT NULL,
       status                text        NOT NULL,
       attempts              integer     NOT NULL,
       nominal_time          timestamptz,
       started_at            timestamptz,
       finished_at           timestamptz,
       duration_ms           bigint,
       error_code            text,
       error_message         text,
       worker                text,
       source                text,
       original_execution_id text,
       business_key          text,
       trigger_topic         text,
       result                text,
       replayed_as           text,
       progress              integer     NOT NULL,
       updated_at            timestamptz NOT NULL
     )`,
    `CREATE INDEX IF NOT EXISTS executions_task_idx ON ${n.executions} (task_id, nominal_time DESC)`,
    `CREATE INDEX IF NOT EXISTS executions_status_idx ON ${n.executions} (status, updated_at DESC)`,
    `CREATE INDEX IF NOT EXISTS executions_active_idx ON ${n.executions} (task_id) WHERE status IN (${active})`,
    `CREATE TABLE IF NOT EXISTS ${n.taskStats} (
       task_id          text        PRIMARY KEY,
       run_count        bigint      NOT NULL,
       failure_count    bigint      NOT NULL,
       last_run_at      timestamptz,
       last_status      text,
       last_error       text,
       last_result      text,
       last_finished_at timestamptz,
       updated_at       timestamptz NOT NULL
     )`,
    `CREATE TABLE IF NOT EXISTS ${n.tasks} (
       task_id               text        PRIMARY KEY,
       name                  text        NOT NULL,
       description           text,
       task_type             text        NOT NULL,
       priority              text        NOT NULL,
       cron_expression       text,
       timezone              text        NOT NULL,
       scheduled_at          timestamptz,
       payload               jsonb       NOT NULL,
       max_retries           integer     NOT NULL,
       timeout_secs          integer     NOT NULL,
       is_active             boolean     NOT NULL,
       start_date            timestamptz,
       end_date              timestamptz,
       max_runs              integer,
       misfire_policy        text        NOT NULL,
       misfire_grace_ms      bigint      NOT NULL,
       misfire_fire_all_cap  integer     NOT NULL,
       concurrency_policy    text        NOT NULL,
       created_by            text        NOT NULL,
       created_at            timestamptz NOT NULL,
       updated_by            text        NOT NULL,
       updated_at            timestamptz NOT NULL,
       deleted_at            timestamptz,
       revision              bigint      NOT NULL,
       definition_revision   bigint      NOT NULL,
       last_run_requested_at timestamptz
     )`,
    `CREATE INDEX IF NOT EXISTS tasks_filter_idx ON ${n.tasks} (task_type, priority, is_active) WHERE deleted_at IS NULL`,
    // What GET /tasks lists: live tasks with their counters and a status derived from their executions.
    `CREATE OR REPLACE VIEW ${n.taskOverview} AS
       SELECT t.task_id AS id, t.name, t.description, t.task_type, t.priority, t.cron_expression, t.timezone,
              t.scheduled_at, t.payload, t.max_retries, t.timeout_secs, t.is_active, t.start_date, t.end_date,
              t.max_runs, t.misfire_policy, t.misfire_grace_ms, t.misfire_fire_all_cap, t.concurrency_policy,
              t.created_by, t.created_at, t.updated_by, t.updated_at, t.revision,
              coalesce(s.run_count, 0) AS run_count, coalesce(s.failure_count, 0) AS failure_count,
              s.last_run_at, s.last_status, s.last_error, s.last_result,
              CASE
                WHEN EXISTS (SELECT 1 FROM ${n.executions} e
                              WHERE e.task_id = t.task_id AND e.status IN (${active})) THEN 'running'
                WHEN s.last_status = 'failed' THEN 'failed'
                WHEN s.last_status IS NOT NULL THEN 'completed'
                ELSE 'pending'
              END AS status
         FROM ${n.tasks} t
         LEFT JOIN ${n.taskStats} s ON s.task_id = t.task_id
        WHERE t.deleted_at IS NULL`,
  ];
}

/**
 * Creates the read-model tables, indexes and view when missing. Idempotent, and safe when replicas start
 * together: the statements run in one transaction under an advisory lock.
 */
export async function migrateReadModels(pool: pg.Pool, names: ReadModelNames): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `openpenpal.recorder.migrate:${names.schema}`,
    ]);
    for (const sql of statements(names)) await client.query(sql);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The read models a rebuild empties (checkpoints are reset, not dropped). */
export function projectedTables(names: ReadModelNames): string[] {
  return [names.executions, names.taskStats, names.tasks];
}
