import type { EncodedBatch } from '@openpenpal/messaging';
import type pg from 'pg';
import { enqueueOutbox } from './outbox/outbox.ts';
import { qualified } from './schema-name.ts';
import { classifyPgError, inTransaction } from './transaction.ts';

/** An opted-in user as the daily inspiration sees them. */
export interface InspirationUser {
  userId: string;
  /** `notification_preferences.language` (zh-CN by default). */
  language: string;
}

/** What was chosen for one user (stored with the claim). */
export interface InspirationChoice {
  theme: string;
  /** `builtin` (the rotating set) or `provider`. */
  source: string;
}

export interface InspirationBatch {
  /** Users claimed (and given their messages) by this batch; the others had theirs today already. */
  claimed: InspirationUser[];
  scanned: number;
  /** The keyset cursor for the next batch; null when the zone's walk reached the end. */
  nextAfterUserId: string | null;
}

export interface InspirationRepository {
  /** The distinct `timezone` values of opted-in users (as stored; not validated here). */
  zones(): Promise<string[]>;
  /**
   * The next `limit` opted-in, active users of `timezone` in user id order after `afterUserId`:
   * each gets a claim for `localDate` — at most one per user and local day, whoever runs — and,
   * only with a new claim, its messages, in one transaction.
   */
  claimBatch(input: {
    timezone: string;
    localDate: string;
    afterUserId: string | null;
    limit: number;
    executionId: string;
    choose: (user: InspirationUser) => InspirationChoice;
    messages: (user: InspirationUser) => readonly EncodedBatch[];
  }): Promise<InspirationBatch>;
}

export function createInspirationRepository(options: {
  pool: pg.Pool;
  schema: string;
}): InspirationRepository {
  const { pool, schema } = options;
  const preferences = qualified(schema, 'notification_preferences');
  const users = qualified(schema, 'users');
  const deliveries = qualified(schema, 'scheduler_inspiration_deliveries');
  return {
    zones: async () => {
      try {
        const { rows } = await pool.query<{ timezone: string }>(
          `SELECT DISTINCT timezone FROM ${preferences} WHERE inspiration_enabled ORDER BY timezone`,
        );
        return rows.map((row) => row.timezone);
      } catch (error) {
        throw classifyPgError('the inspiration zones query', error);
      }
    },

    claimBatch: ({ timezone, localDate, afterUserId, limit, executionId, choose, messages }) =>
      inTransaction(pool, 'an inspiration batch', async (client) => {
        // A user without a users row is taken as active (the preferences row is the opt-in).
        const { rows } = await client.query<{ user_id: string; language: string | null; active: boolean }>(
          `SELECT p.user_id, p.language, COALESCE(u.is_active, true) AS active
           FROM ${preferences} AS p LEFT JOIN ${users} AS u ON u.id = p.user_id
           WHERE p.inspiration_enabled AND p.timezone = $1 AND ($2::varchar IS NULL OR p.user_id > $2::varchar)
           ORDER BY p.user_id LIMIT $3`,
          [timezone, afterUserId, limit],
        );
        const candidates = rows
          .filter((row) => row.active)
          .map((row): InspirationUser => ({ userId: row.user_id, language: row.language ?? 'zh-CN' }));
        const choices = candidates.map(choose);
        // The claim decides: a user claimed today already (a re-run, a retry, the other replica)
        // gets nothing more; a concurrent claim waits for the other transaction, then does nothing.
        const inserted = await client.query<{ user_id: string }>(
          `INSERT INTO ${deliveries} (user_id, local_date, timezone, theme, prompt_source, execution_id)
           SELECT u, $2::date, $3, t, s, $4 FROM unnest($1::varchar[], $5::varchar[], $6::varchar[]) AS c(u, t, s)
           ON CONFLICT (user_id, local_date) DO NOTHING
           RETURNING user_id`,
          [
            candidates.map((user) => user.userId),
            localDate,
            timezone,
            executionId,
            choices.map((choice) => choice.theme),
            choices.map((choice) => choice.source),
          ],
        );
        const fresh = new Set(inserted.rows.map((row) => row.user_id));
        const claimed = candidates.filter((user) => fresh.has(user.userId));
        await enqueueOutbox(
          client,
          schema,
          claimed.flatMap((user) => messages(user)),
        );
        return {
          claimed,
          scanned: rows.length,
          nextAfterUserId: rows.length < limit ? null : (rows.at(-1)?.user_id ?? null),
        };
      }),
  };
}
