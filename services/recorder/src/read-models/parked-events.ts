import { isSchedulerError } from '@openpenpal/errors';
import type { RecordedEvent } from '@openpenpal/event-store';
import type pg from 'pg';
import type { ProjectionName, ReadModelNames } from './schema.ts';

/** Applies events to a read model inside the caller's transaction. */
export type ApplyEvents = (client: pg.ClientBase, events: readonly RecordedEvent[]) => Promise<void>;

function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/**
 * Whether a failure is the event's own: it can never be applied as it is, so retrying it only stops
 * the projection. PostgreSQL's data exceptions (class 22: a value out of range, a time it cannot
 * print) and integrity violations (class 23), a RangeError (an invalid Date), a VALIDATION_FAILED
 * refusal. Anything else — a lost connection, a missing table — is the database's or the deployment's
 * problem and is retried with backoff.
 */
export function isDataError(error: unknown): boolean {
  if (error instanceof RangeError) return true;
  if (isSchedulerError(error)) return error.code === 'VALIDATION_FAILED';
  const code = sqlState(error);
  return code !== undefined && /^2[23]/.test(code);
}

/** What a parked row says went wrong: the SQLSTATE, the error's code, or its class name. */
function describe(error: unknown): { code: string; message: string } {
  const code = isSchedulerError(error)
    ? error.code
    : (sqlState(error) ?? (error instanceof Error ? error.name : 'Error'));
  const message = error instanceof Error ? error.message : String(error);
  // Error messages may quote the value: keep them printable and bounded.
  return { code, message: message.replaceAll('\u0000', '%00').slice(0, 2_000) };
}

export interface ParkedEvent {
  projection: ProjectionName;
  position: bigint;
  streamId: string;
  revision: bigint;
  eventId: string;
  eventType: string;
}

/**
 * The parked events of one set of read models: events a projection could not apply, set aside so that
 * it goes on with the events after them. Written in the projection's own transaction (so a parked event
 * is never also applied, nor lost), retried by `retryParkedEvents`.
 */
export function parkedEventsTable(names: ReadModelNames) {
  return {
    park: async (
      client: pg.ClientBase,
      projection: ProjectionName,
      event: RecordedEvent,
      error: unknown,
    ): Promise<void> => {
      const { code, message } = describe(error);
      await client.query(
        `INSERT INTO ${names.parkedEvents}
           (projection, position, stream_id, revision, event_id, event_type, error_code, error_message)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (projection, position) DO UPDATE
           SET error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message`,
        [
          projection,
          event.position.toString(),
          event.streamId,
          event.revision.toString(),
          event.id,
          event.type,
          code,
          message,
        ],
      );
    },
    /** Still parked after a retry: the new error, one more retry. */
    retried: async (client: pg.ClientBase, parked: ParkedEvent, error: unknown): Promise<void> => {
      const { code, message } = describe(error);
      await client.query(
        `UPDATE ${names.parkedEvents}
            SET error_code = $3, error_message = $4, retries = retries + 1, retried_at = now()
          WHERE projection = $1 AND position = $2`,
        [parked.projection, parked.position.toString(), code, message],
      );
    },
    remove: async (client: pg.ClientBase, parked: ParkedEvent): Promise<void> => {
      await client.query(`DELETE FROM ${names.parkedEvents} WHERE projection = $1 AND position = $2`, [
        parked.projection,
        parked.position.toString(),
      ]);
    },
    list: async (client: pg.ClientBase | pg.Pool, projection: ProjectionName): Promise<ParkedEvent[]> => {
      const result = await client.query<{
        position: string;
        stream_id: string;
        revision: string;
        event_id: string;
        event_type: string;
      }>(
        `SELECT position, stream_id, revision, event_id, event_type FROM ${names.parkedEvents}
          WHERE projection = $1 ORDER BY position`,
        [projection],
      );
      return result.rows.map((row) => ({
        projection,
        position: BigInt(row.position),
        streamId: row.stream_id,
        revision: BigInt(row.revision),
        eventId: row.event_id,
        eventType: row.event_type,
      }));
    },
    /** How many events each projection has parked now. */
    counts: async (pool: pg.Pool): Promise<Record<ProjectionName, number>> => {
      const result = await pool.query<{ projection: ProjectionName; parked: number }>(
        `SELECT projection, count(*)::int AS parked FROM ${names.parkedEvents} GROUP BY projection`,
      );
      const counts = { executions: 0, tasks: 0 };
      for (const row of result.rows) counts[row.projection] = row.parked;
      return counts;
    },
  };
}

/**
 * Applies `events` inside the caller's transaction, parking those that cannot be applied. The whole
 * batch is tried first (one savepoint, the common case); when it fails on its data, each event is
 * applied alone behind a savepoint of its own and a failing one is parked instead. A failure that is not
 * the data's (a lost connection) is thrown: the caller rolls back and retries the batch.
 */
export async function applyOrPark(
  client: pg.ClientBase,
  events: readonly RecordedEvent[],
  apply: ApplyEvents,
  park: (event: RecordedEvent, error: unknown) => Promise<void>,
): Promise<RecordedEvent[]> {
  if (await trying(client, 'batch', () => apply(client, events))) return [];
  const parked: RecordedEvent[] = [];
  for (const event of events) {
    let failure: unknown;
    const applied = await trying(
      client,
      'event',
      () => apply(client, [event]),
      (error) => (failure = error),
    );
    if (!applied) {
      await park(event, failure);
      parked.push(event);
    }
  }
  return parked;
}

/**
 * Runs `work` behind a savepoint: true when it went through; false when it failed on its data (rolled
 * back to the savepoint, the transaction usable again); any other failure is thrown.
 */
export async function trying(
  client: pg.ClientBase,
  savepoint: string,
  work: () => Promise<void>,
  onDataError?: (error: unknown) => void,
): Promise<boolean> {
  await client.query(`SAVEPOINT ${savepoint}`);
  try {
    await work();
  } catch (error) {
    if (!isDataError(error)) throw error;
    await client.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
    onDataError?.(error);
    return false;
  }
  await client.query(`RELEASE SAVEPOINT ${savepoint}`);
  return true;
}
