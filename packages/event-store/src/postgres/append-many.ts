import { SchedulerError } from '@openpenpal/errors';
import type pg from 'pg';
import type { NormalizedRequest } from '../append-many.ts';
import type { AppendManyResult, CurrentRevision } from '../port.ts';
import { conflictError, describeRevision } from '../validation.ts';
import type { PgNames } from './names.ts';
import { classifyPgError } from './rows.ts';

interface AppendManyRow {
  o_outcome: 'appended' | 'replayed' | 'duplicate' | 'conflict';
  o_revision: string | null;
  o_position: string | null;
  o_appended: number;
  o_skipped_ids: string[];
  o_stored_streams: string[];
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === '23505';
}

/** The error for the first request that failed; the function stored nothing then. */
function failure(request: NormalizedRequest, row: AppendManyRow): SchedulerError {
  const actual: CurrentRevision = row.o_revision === null ? 'no_stream' : BigInt(row.o_revision);
  if (row.o_outcome === 'conflict') return conflictError(request.streamId, request.expected, actual);
  return new SchedulerError('CONFLICT', 'some event ids of this append are already stored elsewhere', {
    details: {
      stream: request.streamId,
      expected: describeRevision(request.expected),
      actual: describeRevision(actual),
      storedEventIds: row.o_skipped_ids,
      storedInStreams: row.o_stored_streams,
    },
  });
}

/**
 * Appends to many streams through the store's append_many function (append-many-function.ts): one
 * statement, so one round trip and one transaction however many streams the call touches.
 */
export async function appendManyEvents(
  pool: pg.Pool,
  names: PgNames,
  requests: readonly NormalizedRequest[],
): Promise<AppendManyResult[]> {
  const events = requests.flatMap((request) => request.events);
  let rows: AppendManyRow[];
  try {
    const result = await pool.query<AppendManyRow>(
      `SELECT o_outcome, o_revision, o_position, o_appended, o_skipped_ids, o_stored_streams
         FROM ${names.appendManyFunction}($1::text[], $2::text[], $3::bigint[], $4::boolean[], $5::int[],
                                          $6::uuid[], $7::text[], $8::jsonb[], $9::jsonb[], $10, $11)`,
      [
        requests.map((request) => request.streamId),
        requests.map((request) => (typeof request.expected === 'bigint' ? 'revision' : request.expected)),
        requests.map((request) =>
          typeof request.expected === 'bigint' ? request.expected.toString() : null,
        ),
        requests.map((request) => request.skipStored),
        requests.map((request) => request.events.length),
        events.map((event) => event.id),
        events.map((event) => event.type),
        events.map((event) => JSON.stringify(event.data)),
        events.map((event) => JSON.stringify(event.metadata)),
        names.appendLockKey,
        names.streamLockPrefix,
      ],
    );
    rows = result.rows;
  } catch (error) {
    if (isUniqueViolation(error)) {
      // The per-stream locks make this unreachable between appends of this store; a backstop only.
      throw new SchedulerError('CONFLICT', 'a concurrent append to one of the streams won', {
        cause: error,
        details: { streams: requests.map((request) => request.streamId) },
      });
    }
    throw classifyPgError(error, 'appendMany');
  }
  if (rows.length !== requests.length) {
    throw new SchedulerError(
      'INTERNAL',
      `append_many returned ${rows.length} rows for ${requests.length} requests`,
    );
  }
  rows.forEach((row, index) => {
    const request = requests[index];
    if (request !== undefined && (row.o_outcome === 'conflict' || row.o_outcome === 'duplicate')) {
      throw failure(request, row);
    }
  });
  return rows.map((row, index) => {
    if (row.o_revision === null || row.o_position === null) {
      throw new SchedulerError('INTERNAL', `append_many answered ${row.o_outcome} without a position`, {
        details: { stream: requests[index]?.streamId },
      });
    }
    return {
      nextExpectedRevision: BigInt(row.o_revision),
      position: BigInt(row.o_position),
      appended: row.o_appended,
      skippedIds: row.o_skipped_ids,
    };
  });
}
