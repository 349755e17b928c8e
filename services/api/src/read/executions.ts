import { SchedulerError } from '@openpenpal/errors';
import type { EventStore, RecordedEvent } from '@openpenpal/event-store';
import { executionStreamId, foldExecution, type ExecutionState } from '@openpenpal/task-definitions';
import pg from 'pg';
import type { ExecutionView } from '../http/schemas.ts';

interface ExecutionFilters {
  task_id?: string | undefined;
  status?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
  limit: number;
  cursor?: string | undefined;
}

interface ExecutionRow {
  execution_id: string;
  task_id: string;
  task_type: string;
  status: string;
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
  updated_at: Date;
  cursor_at: string;
}

/** A page boundary: the last row's exact `updated_at` text (microseconds kept) and id. */
function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      !Number.isNaN(Date.parse(value[0]))
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // reported below
  }
  throw new SchedulerError('VALIDATION_FAILED', 'invalid request: query.cursor: not a cursor this API gave', {
    details: { field: 'query.cursor', problem: 'not a cursor this API gave' },
  });
}

const iso = (value: Date | number | null): string | null =>
  value === null ? null : new Date(value).toISOString();

function rowView(row: ExecutionRow): ExecutionView {
  return {
    execution_id: row.execution_id,
    task_id: row.task_id,
    task_type: row.task_type,
    status: row.status,
    attempts: row.attempts,
    nominal_time: iso(row.nominal_time),
    started_at: iso(row.started_at),
    finished_at: iso(row.finished_at),
    duration_ms: row.duration_ms === null ? null : Number(row.duration_ms),
    error_code: row.error_code,
    error_message: row.error_message,
    worker: row.worker,
    source: row.source,
    original_execution_id: row.original_execution_id,
    business_key: row.business_key,
    trigger_topic: row.trigger_topic,
    result: row.result,
    replayed_as: row.replayed_as,
    updated_at: row.updated_at.toISOString(),
  };
}

function executionStateView(state: ExecutionState): ExecutionView {
  return {
    execution_id: state.execution_id,
    task_id: state.task_id,
    task_type: state.task_type,
    status: state.status,
    attempts: state.attempts,
    nominal_time: iso(state.nominal_time),
    started_at: iso(state.started_at),
    finished_at: iso(state.finished_at),
    duration_ms: state.duration_ms,
    error_code: state.error_code,
    error_message: state.error_message,
    worker: state.worker,
    source: state.source,
    original_execution_id: state.original_execution_id,
    business_key: state.business_key,
    trigger_topic: state.trigger_topic,
    result: state.result,
    replayed_as: state.replayed_as,
    updated_at: new Date(state.updated_at).toISOString(),
  };
}

export interface ExecutionReads {
  list(filters: ExecutionFilters): Promise<{ executions: ExecutionView[]; next_cursor: string | null }>;
  /** One execution folded from its stream in the event store, with every recorded event. */
  history(executionId: string): Promise<{ execution: ExecutionView; events: RecordedEvent[] } | undefined>;
}

/** Executions: lists from the recorder's `executions` table (newest activity first), one from the store. */
export function createExecutionReads(pool: pg.Pool, schema: string, store: EventStore): ExecutionReads {
  const table = `${pg.escapeIdentifier(schema)}.executions`;
  return {
    list: async (filters) => {
      const [cursorAt, cursorId] = filters.cursor === undefined ? [null, null] : decodeCursor(filters.cursor);
      const { rows } = await pool.query<ExecutionRow>(
        `SELECT *, updated_at::text AS cursor_at FROM ${table}
          WHERE ($1::text IS NULL OR task_id = $1)
            AND ($2::text IS NULL OR status = $2)
            AND ($3::timestamptz IS NULL OR updated_at >= $3)
            AND ($4::timestamptz IS NULL OR updated_at < $4)
            AND ($5::timestamptz IS NULL OR (updated_at, execution_id) < ($5::timestamptz, $6::text))
          ORDER BY updated_at DESC, execution_id DESC
          LIMIT $7`,
        [
          filters.task_id ?? null,
          filters.status ?? null,
          filters.from === undefined ? null : new Date(filters.from),
          filters.to === undefined ? null : new Date(filters.to),
          cursorAt,
          cursorId,
          filters.limit + 1,
        ],
      );
      const page = rows.slice(0, filters.limit);
      const last = page.at(-1);
      return {
        executions: page.map(rowView),
        next_cursor:
          rows.length > filters.limit && last !== undefined
            ? encodeCursor(last.cursor_at, last.execution_id)
            : null,
      };
    },
    history: async (executionId) => {
      const events = await store.readStream(executionStreamId(executionId));
      const state = foldExecution(
        events.map((event) => ({
          type: event.type,
          data: event.data,
          recordedAt: event.createdAt.getTime(),
        })),
      );
      if (state === undefined) return undefined;
      return { execution: executionStateView(state), events };
    },
  };
}
