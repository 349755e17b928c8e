import type { EventStore, RecordedEvent } from '@openpenpal/event-store';
import { TASK_CATEGORY, foldTask, parseTaskEvents, type TaskState } from '@openpenpal/task-definitions';
import type pg from 'pg';
import type { ReadModelNames } from './schema.ts';

const PREFIX = `${TASK_CATEGORY}-`;
const iso = (value: number | null): string | null => (value === null ? null : new Date(value).toISOString());

function values(state: TaskState): unknown[] {
  return [
    state.task_id,
    state.name,
    state.description,
    state.task_type,
    state.priority,
    state.cron_expression,
    state.timezone,
    iso(state.scheduled_at),
    JSON.stringify(state.payload),
    state.max_retries,
    state.timeout_secs,
    state.is_active,
    iso(state.start_date),
    iso(state.end_date),
    state.max_runs,
    state.misfire_policy,
    state.misfire_grace_ms,
    state.misfire_fire_all_cap,
    state.concurrency_policy,
    state.created_by,
    iso(state.created_at),
    state.updated_by,
    iso(state.updated_at),
    iso(state.deleted ? state.deleted_at : null),
    state.revision,
    state.definition_revision,
    iso(state.last_run_requested_at),
  ];
}

const COLUMNS = [
  'task_id',
  'name',
  'description',
  'task_type',
  'priority',
  'cron_expression',
  'timezone',
  'scheduled_at',
  'payload',
  'max_retries',
  'timeout_secs',
  'is_active',
  'start_date',
  'end_date',
  'max_runs',
  'misfire_policy',
  'misfire_grace_ms',
  'misfire_fire_all_cap',
  'concurrency_policy',
  'created_by',
  'created_at',
  'updated_by',
  'updated_at',
  'deleted_at',
  'revision',
  'definition_revision',
  'last_run_requested_at',
] as const;

export interface TaskProjection {
  /** Applies a batch of `task` events inside the caller's transaction. */
  apply(client: pg.ClientBase, events: readonly RecordedEvent[]): Promise<void>;
}

/**
 * The `tasks` read model: one row per task, the fold of its stream up to the batch's last position
 * (task streams are short and change rarely, so each touched stream is read whole and folded again). A
 * deleted task keeps its row with `deleted_at` set; the `task_overview` view leaves it out.
 */
export function createTaskProjection(deps: { store: EventStore; names: ReadModelNames }): TaskProjection {
  const { store, names } = deps;
  const placeholders = COLUMNS.map((_, index) => `$${index + 1}`).join(', ');
  const sql = `INSERT INTO ${names.tasks} (${COLUMNS.join(', ')}) VALUES (${placeholders})
               ON CONFLICT (task_id) DO UPDATE SET ${COLUMNS.slice(1)
                 .map((column) => `${column} = EXCLUDED.${column}`)
                 .join(', ')}`;
  return {
    apply: async (client, events) => {
      const last = events.at(-1)?.position ?? 0n;
      const streams = [...new Set(events.map((event) => event.streamId))];
      for (const streamId of streams) {
        const recorded = (await store.readStream(streamId)).filter((event) => event.position <= last);
        const state = foldTask(parseTaskEvents(recorded));
        if (state === undefined) continue;
        if (state.task_id !== streamId.slice(PREFIX.length)) continue;
        await client.query(sql, values(state));
      }
    },
  };
}
