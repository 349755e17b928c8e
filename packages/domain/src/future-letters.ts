import type { EncodedBatch } from '@openpenpal/messaging';
import type pg from 'pg';
import { enqueueOutbox } from './outbox/outbox.ts';
import { qualified } from './schema-name.ts';
import { classifyPgError, inTransaction } from './transaction.ts';

/** A letter this release moved from `scheduled` to `published`. */
export interface ReleasedLetter {
  letterId: string;
  ownerId: string;
  recipientId: string | null;
  visibility: string;
  /** The release time it was scheduled for (the letter's, else the last FutureLetterScheduled's). */
  scheduledAt: Date;
  publishedAt: Date;
}

/** What the inbound event did to the scheduler's record of a letter's schedule. */
export type ScheduleRecord =
  /**
   * `scheduledAt`: the time now recorded (for a cancel, the time it cancels); `previous`: the
   * pending time this event replaced, if any, whose delayed release the caller withdraws.
   */
  | { outcome: 'recorded'; scheduledAt: Date; previous: Date | null }
  /** An event older than the one already recorded (by occurredAt): ignored. */
  | { outcome: 'stale' }
  | { outcome: 'unknown_letter' };

/** The messages (outbox) a release causes, built by the caller: the result event, the notification. */
export type ReleaseMessages = (letter: ReleasedLetter) => readonly EncodedBatch[];

export interface FutureLetterRepository {
  /** Records FutureLetterScheduled (a later time replaces an earlier one; a cancel is undone). */
  recordScheduled(letterId: string, scheduledAt: Date, eventAt: Date): Promise<ScheduleRecord>;
  /** Records FutureLetterCancelled: from now on the letter is never released by the scheduler. */
  recordCancelled(letterId: string, eventAt: Date): Promise<ScheduleRecord>;
  /**
   * Releases one letter if it is still `scheduled`, due at `now`, and not cancelled; the change and
   * its messages commit together. Null when there was nothing to release (already released,
   * cancelled, not due, deleted, unknown).
   */
  release(letterId: string, now: Date, messages: ReleaseMessages): Promise<ReleasedLetter | null>;
  /** Releases up to `limit` due letters (oldest first) in one transaction; returns them. */
  releaseDue(now: Date, limit: number, messages: ReleaseMessages): Promise<ReleasedLetter[]>;
  /** Scheduled letters whose time has come and that are not released yet (the backlog). */
  countDue(now: Date): Promise<number>;
}

interface ReleasedRow {
  id: string;
  user_id: string;
  recipient_id: string | null;
  visibility: string;
  scheduled_at: Date;
  published_at: Date;
}

const toReleased = (row: ReleasedRow): ReleasedLetter => ({
  letterId: row.id,
  ownerId: row.user_id,
  recipientId: row.recipient_id,
  visibility: row.visibility,
  scheduledAt: row.scheduled_at,
  publishedAt: row.published_at,
});

export function createFutureLetterRepository(options: {
  pool: pg.Pool;
  schema: string;
}): FutureLetterRepository {
  const { pool, schema } = options;
  const letters = qualified(schema, 'letters');
  const schedules = qualified(schema, 'scheduler_future_letters');

  // Due: the letter's own time when it has one (the letter service owns it), else the event's.
  // A cancel recorded by the scheduler wins over a release already on its way.
  const releasable = (now: string) => `
    l.status = 'scheduled' AND l.deleted_at IS NULL
    AND COALESCE(l.scheduled_at, f.scheduled_at, ${now}::timestamptz) <= ${now}::timestamptz
    AND (f.state IS NULL OR f.state <> 'cancelled')`;

  const record = async (
    letterId: string,
    state: 'scheduled' | 'cancelled',
    scheduledAt: Date | null,
    eventAt: Date,
  ): Promise<ScheduleRecord> =>
    inTransaction(pool, 'a future-letter event', async (client) => {
      const exists = await client.query(`SELECT 1 FROM ${letters} WHERE id = $1 AND deleted_at IS NULL`, [
        letterId,
      ]);
      if (exists.rowCount === 0) return { outcome: 'unknown_letter' };
      const before = await client.query<{ scheduled_at: Date; state: string }>(
        `SELECT scheduled_at, state FROM ${schedules} WHERE letter_id = $1 FOR UPDATE`,
        [letterId],
      );
      const old = before.rows[0];
      // A cancel keeps the time it cancels; an event older than the recorded one changes nothing
      // (Kafka keeps a letter's events in order; a re-sent old event must not undo a newer one).
      const result = await client.query<{ scheduled_at: Date }>(
        `INSERT INTO ${schedules} AS f (letter_id, scheduled_at, state, event_at, updated_at)
         VALUES ($1, COALESCE($2::timestamptz, $4::timestamptz), $3, $4, now())
         ON CONFLICT (letter_id) DO UPDATE
           SET scheduled_at = COALESCE($2::timestamptz, f.scheduled_at), state = $3, event_at = $4, updated_at = now()
           WHERE f.event_at <= $4 AND f.state <> 'released'
         RETURNING f.scheduled_at`,
        [letterId, scheduledAt, state, eventAt],
      );
      const recorded = result.rows[0];
      if (!recorded) return { outcome: 'stale' };
      return {
        outcome: 'recorded',
        scheduledAt: recorded.scheduled_at,
        previous: old?.state === 'scheduled' ? old.scheduled_at : null,
      };
    });

  const markReleased = async (client: pg.PoolClient, released: readonly ReleasedLetter[]) => {
    if (released.length === 0) return;
    await client.query(
      `INSERT INTO ${schedules} AS f (letter_id, scheduled_at, state, event_at, updated_at)
       SELECT id, at, 'released', now(), now() FROM unnest($1::text[], $2::timestamptz[]) AS r(id, at)
       ON CONFLICT (letter_id) DO UPDATE SET state = 'released', updated_at = now()`,
      [released.map((l) => l.letterId), released.map((l) => l.scheduledAt)],
    );
  };

  /** Ids of due, releasable letters matching `range`, oldest first, locked (others skip them). */
  const dueIds = async (
    client: pg.PoolClient,
    now: Date,
    limit: number,
    range: string,
  ): Promise<string[]> => {
    const { rows } = await client.query<{ id: string }>(
      `SELECT l.id FROM ${letters} AS l LEFT JOIN ${schedules} AS f ON f.letter_id = l.id
       WHERE ${range} AND ${releasable('$2')}
       ORDER BY COALESCE(l.scheduled_at, f.scheduled_at), l.id LIMIT $1
       FOR UPDATE OF l SKIP LOCKED`,
      [limit, now],
    );
    return rows.map((row) => row.id);
  };

  const returning = `l.id, l.user_id, l.recipient_id, l.visibility,
    COALESCE(l.scheduled_at, f.scheduled_at, l.published_at) AS scheduled_at, l.published_at`;

  return {
    recordScheduled: (letterId, scheduledAt, eventAt) => record(letterId, 'scheduled', scheduledAt, eventAt),
    recordCancelled: (letterId, eventAt) => record(letterId, 'cancelled', null, eventAt),

    release: (letterId, now, messages) =>
      inTransaction(pool, 'a future-letter release', async (client) => {
        // The row lock taken here orders every change of this letter (and its outbox rows).
        const { rows } = await client.query<ReleasedRow>(
          `UPDATE ${letters} AS l SET status = 'published', published_at = $2, updated_at = $2
           FROM (SELECT $1::varchar AS id) AS k LEFT JOIN ${schedules} AS f ON f.letter_id = k.id
           WHERE l.id = k.id AND ${releasable('$2')}
           RETURNING ${returning}`,
          [letterId, now],
        );
        const released = rows.map(toReleased);
        await markReleased(client, released);
        for (const letter of released) await enqueueOutbox(client, schema, messages(letter));
        return released[0] ?? null;
      }),

    releaseDue: (now, limit, messages) =>
      inTransaction(pool, 'a future-letter sweep', async (client) => {
        // Two index range scans instead of one scan of every scheduled letter: letters due by their
        // own time, then letters without one that are due by the recorded event's time.
        const ids = await dueIds(client, now, limit, `l.scheduled_at <= $2::timestamptz`);
        if (ids.length < limit) {
          ids.push(
            ...(await dueIds(
              client,
              now,
              limit - ids.length,
              `l.scheduled_at IS NULL AND f.state = 'scheduled' AND f.scheduled_at <= $2::timestamptz`,
            )),
          );
        }
        if (ids.length === 0) return [];
        const { rows } = await client.query<ReleasedRow>(
          `UPDATE ${letters} AS l SET status = 'published', published_at = $2, updated_at = $2
           FROM unnest($1::varchar[]) AS due(id) LEFT JOIN ${schedules} AS f ON f.letter_id = due.id
           WHERE l.id = due.id AND l.status = 'scheduled'
           RETURNING ${returning}`,
          [ids, now],
        );
        const released = rows.map(toReleased);
        await markReleased(client, released);
        await enqueueOutbox(
          client,
          schema,
          released.flatMap((letter) => messages(letter)),
        );
        return released;
      }),

    countDue: async (now) => {
      try {
        const { rows } = await pool.query<{ n: string }>(
          `SELECT (SELECT count(*) FROM ${letters} AS l LEFT JOIN ${schedules} AS f ON f.letter_id = l.id
                   WHERE l.scheduled_at <= $1::timestamptz AND ${releasable('$1')})
                + (SELECT count(*) FROM ${schedules} AS f JOIN ${letters} AS l ON l.id = f.letter_id
                   WHERE l.scheduled_at IS NULL AND f.state = 'scheduled' AND f.scheduled_at <= $1::timestamptz
                     AND ${releasable('$1')}) AS n`,
          [now],
        );
        return Number(rows[0]?.n ?? 0);
      } catch (error) {
        throw classifyPgError('the future-letter backlog count', error);
      }
    },
  };
}
