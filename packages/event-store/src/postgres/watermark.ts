import type pg from 'pg';
import { sleep } from '../subscription-control.ts';
import { classifyPgError } from './rows.ts';
import type { PgNames } from './names.ts';

/*
 * Why readers need a watermark. A bigserial hands out positions when rows are inserted, not when they
 * commit: append A may draw position 7, append B draw 8 and commit first. A reader that then delivers 8
 * and moves its checkpoint past it would never see 7 when A commits. Serialising all appends behind one
 * lock closes that gap but makes every commit (and its WAL flush) wait for the previous one: measured on
 * the local stack, about 1,000 single-event appends per second, below what the recorder must sustain.
 *
 * Instead, every append transaction holds one shared advisory lock from its first statement to its end
 * (shared locks never wait for each other), and a reader computes a horizon:
 *   1. L = the sequence's last value: every position <= L was drawn before this moment;
 *   2. A = the transactions holding the shared lock now: every transaction that drew a position <= L and
 *      has not finished is among them, because it took the lock before drawing;
 *   3. wait until none of A holds the lock any more. A transaction's locks are released only after its
 *      commit is visible, so from then on the events up to L are final: each is visible or never will be.
 * Readers return events up to the horizon only. The wait lasts as long as the appends in flight (a few
 * milliseconds), and unrelated transactions in the database never delay it, unlike a wait on
 * pg_current_snapshot()'s xmin. Gaps left by rolled-back appends cost nothing.
 */

interface HoldersRow {
  holders: string[];
}

const HOLDERS_SQL = `
  SELECT coalesce(array_agg(virtualtransaction), '{}') AS holders
    FROM pg_locks
   WHERE locktype = 'advisory' AND objsubid = 1
     AND classid::bigint = ((hashtextextended($1, 0) >> 32) & 4294967295)
     AND objid::bigint = (hashtextextended($1, 0) & 4294967295)
     AND ($2::text[] IS NULL OR virtualtransaction = ANY($2::text[]))`;

/**
 * The highest position up to which the store's events are final (0 when nothing was ever appended), or
 * undefined when `signal` aborts the wait: a horizon not waited for is not final.
 */
export async function readHorizon(
  pool: pg.Pool,
  names: PgNames,
  signal?: AbortSignal,
): Promise<bigint | undefined> {
  try {
    const sequence = await pool.query<{ last_value: string; is_called: boolean }>(
      `SELECT last_value, is_called FROM ${names.sequence}`,
    );
    const row = sequence.rows[0];
    const horizon = row?.is_called === true ? BigInt(row.last_value) : 0n;
    let pending =
      (await pool.query<HoldersRow>(HOLDERS_SQL, [names.appendLockKey, null])).rows[0]?.holders ?? [];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (signal?.aborted === true) return undefined;
      // Appends finish within milliseconds: poll quickly at first, then every 20 ms.
      await sleep(Math.min(20, 2 ** attempt), signal ?? new AbortController().signal);
      pending =
        (await pool.query<HoldersRow>(HOLDERS_SQL, [names.appendLockKey, pending])).rows[0]?.holders ?? [];
    }
    return horizon;
  } catch (error) {
    throw classifyPgError(error, 'readHorizon');
  }
}
