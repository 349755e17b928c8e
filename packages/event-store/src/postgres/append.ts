import { SchedulerError } from '@openpenpal/errors';
import type pg from 'pg';
import type { AppendResult, CurrentRevision, ExpectedRevision } from '../port.ts';
import { conflictError, describeRevision, type NormalizedEvent } from '../validation.ts';
import { classifyPgError } from './rows.ts';
import type { PgNames } from './names.ts';

interface AppendRow {
  o_outcome: 'appended' | 'replayed' | 'duplicate' | 'conflict';
  o_revision: string | null;
  o_position: string | null;
  o_stored_ids: string[] | null;
  o_stored_streams: string[] | null;
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === '23505';
}

/**
 * Appends through the store's append function (append-function.ts) in one statement, so one round trip
 * and one implicit transaction. Its locks: the store's append lock in shared mode, which tells readers
 * that positions may be in flight (appends never wait for each other on it; see watermark.ts for why
 * readers need it), and an exclusive lock per stream, so that concurrent appends to one stream run one
 * after the other: the second sees the first one's events and answers CONFLICT or recognises a replay.
 * The unique keys on (stream_id, revision) and event_id stay a backstop only.
 */
export async function appendEvents(
  pool: pg.Pool,
  names: PgNames,
  streamId: string,
  events: readonly NormalizedEvent[],
  expected: ExpectedRevision,
): Promise<AppendResult> {
  let row: AppendRow | undefined;
  try {
    const result = await pool.query<AppendRow>(
      `SELECT o_outcome, o_revision, o_position, o_stored_ids, o_stored_streams
         FROM ${names.appendFunction}($1, $2, $3, $4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[], $8, $9)`,
      [
        streamId,
        typeof expected === 'bigint' ? 'revision' : expected,
        typeof expected === 'bigint' ? expected.toString() : null,
        events.map((event) => event.id),
        events.map((event) => event.type),
        events.map((event) => JSON.stringify(event.data)),
        events.map((event) => JSON.stringify(event.metadata)),
        names.appendLockKey,
        names.streamLockPrefix + streamId,
      ],
    );
    row = result.rows[0];
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new SchedulerError('CONFLICT', `a concurrent append to ${streamId} won`, {
        cause: error,
        details: { stream: streamId, expected: describeRevision(expected), actual: 'unknown' },
      });
    }
    throw classifyPgError(error, 'append');
  }
  if (row === undefined) throw new SchedulerError('INTERNAL', 'the append function returned no row');
  const actual: CurrentRevision = row.o_revision === null ? 'no_stream' : BigInt(row.o_revision);
  switch (row.o_outcome) {
    case 'appended':
    case 'replayed':
      if (actual === 'no_stream' || row.o_position === null) break;
      return { nextExpectedRevision: actual, position: BigInt(row.o_position) };
    case 'conflict':
      throw conflictError(streamId, expected, actual);
    case 'duplicate':
      // Ids stored elsewhere, or only some of them: a different batch reusing ids, not a replay.
      throw new SchedulerError('CONFLICT', 'some event ids of this append are already stored elsewhere', {
        details: {
          stream: streamId,
          expected: describeRevision(expected),
          actual: describeRevision(actual),
          storedEventIds: row.o_stored_ids ?? [],
          storedInStreams: row.o_stored_streams ?? [],
        },
      });
  }
  throw new SchedulerError('INTERNAL', `the append function answered ${row.o_outcome} without a position`);
}
