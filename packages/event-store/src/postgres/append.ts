import { SchedulerError } from '@openpenpal/errors';
import type pg from 'pg';
import type { AppendResult, CurrentRevision, ExpectedRevision } from '../port.ts';
import { conflictError, describeRevision, expectationHolds, type NormalizedEvent } from '../validation.ts';
import { classifyPgError } from './rows.ts';
import type { PgNames } from './schema.ts';

interface StoredIdRow {
  event_id: string;
  stream_id: string;
  revision: string;
  position: string;
}

/**
 * When every id of the batch is already stored in this stream, at consecutive revisions in the batch's
 * order, the append already happened (a redelivered message): its original result is returned. Any other
 * overlap is a different batch reusing ids, which is refused.
 */
function idempotentResult(
  streamId: string,
  events: readonly NormalizedEvent[],
  stored: readonly StoredIdRow[],
  expected: ExpectedRevision,
  actual: CurrentRevision,
): AppendResult {
  const byId = new Map(stored.map((row) => [row.event_id, row]));
  const rows = events.map((event) => byId.get(event.id));
  const first = rows[0];
  const last = rows.at(-1);
  const replay =
    first !== undefined &&
    last !== undefined &&
    rows.every(
      (row, index) =>
        row !== undefined &&
        row.stream_id === streamId &&
        BigInt(row.revision) === BigInt(first.revision) + BigInt(index),
    );
  if (replay) return { nextExpectedRevision: BigInt(last.revision), position: BigInt(last.position) };
  throw new SchedulerError('CONFLICT', `some event ids of this append are already stored elsewhere`, {
    details: {
      stream: streamId,
      expected: describeRevision(expected),
      actual: describeRevision(actual),
      storedEventIds: stored.map((row) => row.event_id),
      storedInStreams: [...new Set(stored.map((row) => row.stream_id))],
    },
  });
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === '23505';
}

/**
 * Appends in one transaction. The transaction first takes one advisory lock per store, so appends commit
 * one at a time and in the order they drew their positions from the bigserial. That is what makes
 * `position > checkpoint` a safe subscription query: without it, a transaction could draw position 7, a
 * faster one draw 8 and commit, a reader deliver 8 and move its checkpoint past 7 before 7 commits, and
 * skip it for good. The alternatives cost more: waiting out every gap for a timeout delays readers on each
 * rolled-back append (and conflicts and idempotent replays leave gaps all the time), and reading by
 * transaction id needs a position that is no longer one bigint. Holding the lock only from the first
 * query to COMMIT keeps the serial section to a few index lookups, the insert and the commit; the lock
 * also makes the expected-revision check race-free, with the unique (stream_id, revision) key behind it.
 */
export async function appendEvents(
  pool: pg.Pool,
  names: PgNames,
  streamId: string,
  events: readonly NormalizedEvent[],
  expected: ExpectedRevision,
): Promise<AppendResult> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [names.appendLockKey]);
    const ids = events.map((event) => event.id);
    const current = await client.query<{ revision: string | null }>(
      `SELECT max(revision) AS revision FROM ${names.table} WHERE stream_id = $1`,
      [streamId],
    );
    const currentRevision = current.rows[0]?.revision ?? null;
    const actual: CurrentRevision = currentRevision === null ? 'no_stream' : BigInt(currentRevision);
    const stored = await client.query<StoredIdRow>(
      `SELECT event_id, stream_id, revision, position FROM ${names.table} WHERE event_id = ANY($1::uuid[])`,
      [ids],
    );
    if (stored.rows.length > 0) {
      const result = idempotentResult(streamId, events, stored.rows, expected, actual);
      await client.query('ROLLBACK');
      return result;
    }
    if (!expectationHolds(expected, actual)) throw conflictError(streamId, expected, actual);
    const base = actual === 'no_stream' ? -1n : actual;
    // ORDER BY e.n makes the bigserial follow the batch order, so positions and revisions agree.
    const inserted = await client.query<{ position: string }>(
      `INSERT INTO ${names.table} (stream_id, revision, event_id, type, data, metadata)
       SELECT $1, $2::bigint + e.n, e.id, e.type, e.data, e.metadata
         FROM unnest($3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[])
              WITH ORDINALITY AS e(id, type, data, metadata, n)
        ORDER BY e.n
       RETURNING position`,
      [
        streamId,
        base.toString(),
        ids,
        events.map((event) => event.type),
        events.map((event) => JSON.stringify(event.data)),
        events.map((event) => JSON.stringify(event.metadata)),
      ],
    );
    const position = inserted.rows.reduce(
      (max, row) => (BigInt(row.position) > max ? BigInt(row.position) : max),
      0n,
    );
    // Delivered at COMMIT, and only if it commits: subscriptions wake up for events they can see.
    await client.query('SELECT pg_notify($1, $2)', [names.channel, position.toString()]);
    await client.query('COMMIT');
    return { nextExpectedRevision: base + BigInt(events.length), position };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    if (isUniqueViolation(error)) {
      // Only writers that bypass the append lock can get here; report it like any lost race.
      throw new SchedulerError('CONFLICT', `a concurrent append to ${streamId} won`, {
        cause: error,
        details: { stream: streamId, expected: describeRevision(expected), actual: 'unknown' },
      });
    }
    throw classifyPgError(error, 'append');
  } finally {
    client.release(broken);
  }
}
