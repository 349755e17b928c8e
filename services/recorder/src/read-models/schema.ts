import { SchedulerError } from '@openpenpal/errors';
import type pg from 'pg';

export type ProjectionName = 'executions' | 'tasks';

/**
 * Quoted names of one set of read-model tables (the name is validated, so safe to splice): the live
 * set, or a rebuild's (`_rebuild` tables beside them, swapped in when complete).
 */
export interface ReadModelNames {
  schema: string;
  /** One checkpoints table per schema, for live and rebuild projections and the relay. */
  checkpoints: string;
  executions: string;
  taskStats: string;
  tasks: string;
  parkedEvents: string;
  taskOverview: string;
  /** The checkpoint of each projection that writes these tables. */
  checkpointOf: Record<ProjectionName, string>;
  /** What the table names end with: '' for the live tables. */
  suffix: string;
}

const SCHEMA = /^[a-z_][a-z0-9_]*$/;
const REBUILD_SUFFIX = '_rebuild';

function names(schema: string, suffix: string, checkpointPrefix: string): ReadModelNames {
  const q = (table: string) => `"${schema}".${table}${suffix}`;
  return {
    schema,
    checkpoints: `"${schema}".checkpoints`,
    executions: q('executions'),
    taskStats: q('task_stats'),
    tasks: q('tasks'),
    parkedEvents: q('parked_events'),
    taskOverview: q('task_overview'),
    checkpointOf: {
      executions: `${checkpointPrefix}projection:executions`,
      tasks: `${checkpointPrefix}projection:tasks`,
    },
    suffix,
  };
}

export function readModelNames(schema: string): ReadModelNames {
  if (!SCHEMA.test(schema) || schema.length > 60) {
    throw new SchedulerError('CONFIG_INVALID', 'the read model schema must match /^[a-z_][a-z0-9_]*$/', {
      details: { schema },
    });
  }
  return names(schema, '', '');
}

/** The tables a rebuild of `live` fills before they replace the live ones (same schema, own checkpoints). */
export function rebuildNames(live: ReadModelNames): ReadModelNames {
  return names(live.schema, REBUILD_SUFFIX, 'rebuild:');
}

/** Execution statuses that count as still in progress (the task overview shows the task as running). */
const ACTIVE_STATUSES = ['triggered', 'running', 'retry_scheduled'] as const;
const ACTIVE = ACTIVE_STATUSES.map((status) => `'${status}'`).join(', ');

/** The tables of one set, with their indexes (named after the tables, suffix last). */
function tableStatements(n: ReadModelNames): string[] {
  const s = n.suffix;
  return [
    `CREATE TABLE IF NOT EXISTS ${n.executions} (
       execution_id          text        NOT NULL,
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
       updated_at            timestamptz NOT NULL,
       CONSTRAINT executions_pkey${s} PRIMARY KEY (execution_id)
     )`,
    `CREATE INDEX IF NOT EXISTS executions_task_idx${s} ON ${n.executions} (task_id, nominal_time DESC)`,
    `CREATE INDEX IF NOT EXISTS executions_status_idx${s} ON ${n.executions} (status, updated_at DESC)`,
    // GET /executions pages newest activity first (keyset on updated_at, execution_id), for all
    // tasks or for one: without these a page sorted the whole table.
    `CREATE INDEX IF NOT EXISTS executions_updated_idx${s} ON ${n.executions} (updated_at DESC, execution_id DESC)`,
    `CREATE INDEX IF NOT EXISTS executions_task_updated_idx${s} ON ${n.executions} (task_id, updated_at DESC, execution_id DESC)`,
    `CREATE INDEX IF NOT EXISTS executions_active_idx${s} ON ${n.executions} (task_id) WHERE status IN (${ACTIVE})`,
    `CREATE TABLE IF NOT EXISTS ${n.taskStats} (
       task_id          text        NOT NULL,
       run_count        bigint      NOT NULL,
       failure_count    bigint      NOT NULL,
       last_run_at      timestamptz,
       last_status      text,
       last_error       text,
       last_result      text,
       last_finished_at timestamptz,
       updated_at       timestamptz NOT NULL,
       CONSTRAINT task_stats_pkey${s} PRIMARY KEY (task_id)
     )`,
    `CREATE TABLE IF NOT EXISTS ${n.tasks} (
       task_id               text        NOT NULL,
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
       last_run_requested_at timestamptz,
       CONSTRAINT tasks_pkey${s} PRIMARY KEY (task_id)
     )`,
    `CREATE INDEX IF NOT EXISTS tasks_filter_idx${s} ON ${n.tasks} (task_type, priority, is_active) WHERE deleted_at IS NULL`,
    // Events a projection could not apply (see parked-events.ts), in store order per projection.
    `CREATE TABLE IF NOT EXISTS ${n.parkedEvents} (
       projection    text        NOT NULL,
       position      bigint      NOT NULL,
       stream_id     text        NOT NULL,
       revision      bigint      NOT NULL,
       event_id      text        NOT NULL,
       event_type    text        NOT NULL,
       error_code    text        NOT NULL,
       error_message text        NOT NULL,
       parked_at     timestamptz NOT NULL DEFAULT now(),
       retries       integer     NOT NULL DEFAULT 0,
       retried_at    timestamptz,
       CONSTRAINT parked_events_pkey${s} PRIMARY KEY (projection, position)
     )`,
  ];
}

/** What GET /tasks lists: live tasks with their counters and a status derived from their executions. */
export function taskOverviewSql(view: string, tables: ReadModelNames): string {
  return `CREATE OR REPLACE VIEW ${view} AS
       SELECT t.task_id AS id, t.name, t.description, t.task_type, t.priority, t.cron_expression, t.timezone,
              t.scheduled_at, t.payload, t.max_retries, t.timeout_secs, t.is_active, t.start_date, t.end_date,
              t.max_runs, t.misfire_policy, t.misfire_grace_ms, t.misfire_fire_all_cap, t.concurrency_policy,
              t.created_by, t.created_at, t.updated_by, t.updated_at, t.revision,
              coalesce(s.run_count, 0) AS run_count, coalesce(s.failure_count, 0) AS failure_count,
              s.last_run_at, s.last_status, s.last_error, s.last_result,
              CASE
                WHEN EXISTS (SELECT 1 FROM ${tables.executions} e
                              WHERE e.task_id = t.task_id AND e.status IN (${ACTIVE})) THEN 'running'
                WHEN s.last_status = 'failed' THEN 'failed'
                WHEN s.last_status IS NOT NULL THEN 'completed'
                ELSE 'pending'
              END AS status
         FROM ${tables.tasks} t
         LEFT JOIN ${tables.taskStats} s ON s.task_id = t.task_id
        WHERE t.deleted_at IS NULL`;
}

/** Runs `statements` in one transaction under the schema's migration lock. */
async function underMigrationLock(pool: pg.Pool, schema: string, statements: string[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `openpenpal.recorder.migrate:${schema}`,
    ]);
    for (const sql of statements) await client.query(sql);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Creates the live read-model tables, indexes and view when missing. Idempotent, and safe when replicas
 * start together: the statements run in one transaction under an advisory lock.
 */
export async function migrateReadModels(pool: pg.Pool, live: ReadModelNames): Promise<void> {
  await underMigrationLock(pool, live.schema, [
    `CREATE SCHEMA IF NOT EXISTS "${live.schema}"`,
    `CREATE TABLE IF NOT EXISTS ${live.checkpoints} (
       name       text        PRIMARY KEY,
       position   bigint      NOT NULL,
       updated_at timestamptz NOT NULL DEFAULT now()
     )`,
    ...tableStatements(live),
    taskOverviewSql(live.taskOverview, live),
  ]);
}

/** Replaces whatever a rebuild left in `target` by empty tables, its checkpoints at the start. */
export async function createRebuildTables(pool: pg.Pool, target: ReadModelNames): Promise<void> {
  await underMigrationLock(pool, target.schema, [
    ...dropStatements(target),
    ...tableStatements(target),
    ...Object.values(target.checkpointOf).map(
      (name) => `INSERT INTO ${target.checkpoints} (name, position) VALUES ('${name}', 0)
                 ON CONFLICT (name) DO UPDATE SET position = 0, updated_at = now()`,
    ),
  ]);
}

/** The tables of a set, in the order they are swapped and dropped. */
export function projectedTables(n: ReadModelNames): string[] {
  return [n.executions, n.taskStats, n.tasks, n.parkedEvents];
}

/** Drops a rebuild's tables (a failed one's, or before starting one); never the live ones. */
export function dropStatements(target: ReadModelNames): string[] {
  if (target.suffix === '') throw new SchedulerError('INTERNAL', 'refusing to drop the live read models');
  return [
    `DROP TABLE IF EXISTS ${projectedTables(target).join(', ')}`,
    `DELETE FROM ${target.checkpoints} WHERE name IN (${Object.values(target.checkpointOf)
      .map((name) => `'${name}'`)
      .join(', ')})`,
  ];
}
