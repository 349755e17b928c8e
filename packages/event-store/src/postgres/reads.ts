import type pg from 'pg';
import type { ReadStreamOptions, RecordedEvent } from '../port.ts';
import { EVENT_COLUMNS, classifyPgError, toRecordedEvent, type EventRow } from './rows.ts';
import type { PgNames } from './names.ts';

// `LIMIT NULL` means no limit, so one statement serves bounded and unbounded reads.

export async function readStreamEvents(
  pool: pg.Pool,
  names: PgNames,
  streamId: string,
  options: ReadStreamOptions,
): Promise<RecordedEvent[]> {
  const backwards = options.direction === 'backwards';
  const sql = backwards
    ? `SELECT ${EVENT_COLUMNS} FROM ${names.table}
        WHERE stream_id = $1 AND ($2::bigint IS NULL OR revision <= $2::bigint)
        ORDER BY revision DESC LIMIT $3::bigint`
    : `SELECT ${EVENT_COLUMNS} FROM ${names.table}
        WHERE stream_id = $1 AND revision >= coalesce($2::bigint, 0)
        ORDER BY revision ASC LIMIT $3::bigint`;
  try {
    const result = await pool.query<EventRow>(sql, [
      streamId,
      options.fromRevision?.toString() ?? null,
      options.maxCount ?? null,
    ]);
    return result.rows.map(toRecordedEvent);
  } catch (error) {
    throw classifyPgError(error, 'readStream');
  }
}

/**
 * Events with `after < position <= upTo` in position order, of one category or of all streams. `upTo` is
 * a horizon from watermark.ts: reading past it could return a later event before an earlier one commits.
 */
export async function readEventsAfter(
  queryable: pg.Pool | pg.ClientBase,
  names: PgNames,
  range: { after: bigint; upTo: bigint },
  maxCount: number,
  category: string | undefined,
): Promise<RecordedEvent[]> {
  const { after, upTo } = range;
  try {
    const result =
      category === undefined
        ? await queryable.query<EventRow>(
            `SELECT ${EVENT_COLUMNS} FROM ${names.table}
              WHERE position > $1::bigint AND position <= $2::bigint ORDER BY position LIMIT $3`,
            [after.toString(), upTo.toString(), maxCount],
          )
        : await queryable.query<EventRow>(
            `SELECT ${EVENT_COLUMNS} FROM ${names.table}
              WHERE category = $1 AND position > $2::bigint AND position <= $3::bigint
              ORDER BY position LIMIT $4`,
            [category, after.toString(), upTo.toString(), maxCount],
          );
    return result.rows.map(toRecordedEvent);
  } catch (error) {
    throw classifyPgError(error, category === undefined ? 'readAll' : 'readCategory');
  }
}
