import type { EncodedBatch } from '@openpenpal/messaging';
import type pg from 'pg';
import { enqueueOutbox } from './outbox/outbox.ts';
import { qualified } from './schema-name.ts';
import { classifyPgError, inTransaction } from './transaction.ts';

/** A letter one cleanup batch moved to the cleanup status. */
export interface CleanedLetter {
  letterId: string;
  /** Who is told: the author, else the owner. */
  authorId: string;
  previousStatus: 'draft' | 'generated';
  cleanupAt: Date;
}

export interface CleanupBatch {
  moved: CleanedLetter[];
  /** Candidates looked at (drafts and generated letters in id order after the cursor). */
  scanned: number;
  /** The cursor for the next batch; null when the walk reached the end. */
  nextAfterId: string | null;
}

export interface LetterCleanupRepository {
  /**
   * Looks at the next `limit` draft/generated letters in id order after `afterId` and moves those
   * created before `cutoff` whose code is missing or never bound to `targetStatus` with
   * `cleanup_at = now`, with their messages, in one short transaction. A run walks the table batch by
   * batch (keyset), so neither a transaction nor memory grows with the table.
   */
  moveBatch(input: {
    afterId: string | null;
    limit: number;
    cutoff: Date;
    now: Date;
    targetStatus: string;
    messages: (letter: CleanedLetter) => readonly EncodedBatch[];
  }): Promise<CleanupBatch>;
}

interface MovedRow {
  id: string;
  author_id: string;
  previous_status: 'draft' | 'generated';
  cleanup_at: Date;
}

export function createLetterCleanupRepository(options: {
  pool: pg.Pool;
  schema: string;
}): LetterCleanupRepository {
  const { pool, schema } = options;
  const letters = qualified(schema, 'letters');
  const codes = qualified(schema, 'letter_codes');
  return {
    moveBatch: async ({ afterId, limit, cutoff, now, targetStatus, messages }) => {
      let window: string[];
      try {
        const { rows } = await pool.query<{ id: string }>(
          `SELECT id FROM ${letters}
           WHERE status IN ('draft', 'generated') AND ($1::varchar IS NULL OR id > $1::varchar)
           ORDER BY id LIMIT $2`,
          [afterId, limit],
        );
        window = rows.map((row) => row.id);
      } catch (error) {
        throw classifyPgError('the cleanup candidates query', error);
      }
      if (window.length === 0) return { moved: [], scanned: 0, nextAfterId: null };
      const moved = await inTransaction(pool, 'a cleanup batch', async (client) => {
        // Eligibility is checked again under the row lock: a letter bound or sent since the window
        // was read stays where it is. A letter another run holds is left to that run.
        const { rows } = await client.query<MovedRow>(
          `WITH eligible AS (
             SELECT l.id, l.status AS previous_status FROM ${letters} AS l
             WHERE l.id = ANY($1::varchar[]) AND l.status IN ('draft', 'generated')
               AND l.created_at < $2 AND l.deleted_at IS NULL
               AND NOT EXISTS (
                 SELECT 1 FROM ${codes} AS c
                 WHERE c.letter_id = l.id
                   AND (c.bound_at IS NOT NULL OR c.status IN ('bound', 'in_transit', 'delivered')))
             FOR UPDATE OF l SKIP LOCKED)
           UPDATE ${letters} AS l SET status = $4, cleanup_at = $3, updated_at = $3
           FROM eligible WHERE l.id = eligible.id
           RETURNING l.id, COALESCE(l.author_id, l.user_id) AS author_id, eligible.previous_status, l.cleanup_at`,
          [window, cutoff, now, targetStatus],
        );
        const cleaned = rows.map((row): CleanedLetter => ({
          letterId: row.id,
          authorId: row.author_id,
          previousStatus: row.previous_status,
          cleanupAt: row.cleanup_at,
        }));
        await enqueueOutbox(
          client,
          schema,
          cleaned.flatMap((letter) => messages(letter)),
        );
        return cleaned;
      });
      return {
        moved,
        scanned: window.length,
        nextAfterId: window.length < limit ? null : (window.at(-1) ?? null),
      };
    },
  };
}
