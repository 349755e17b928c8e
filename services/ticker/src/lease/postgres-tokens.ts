import { toError } from '@openpenpal/errors';
import type { FencingTokenSource } from './redis-lease.ts';

/** The part of a `pg.Pool` the tokens need (the runtime's `ctx.postgres()`). */
export interface TokenPool {
  query(text: string): Promise<unknown>;
  connect(): Promise<{
    query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
    /** With an error: the connection is closed rather than reused. */
    release(error?: Error): void;
  }>;
}

const CREATE = `CREATE TABLE IF NOT EXISTS ticker_fencing_tokens (
  lease text PRIMARY KEY,
  token bigint NOT NULL CHECK (token > 0),
  taken_at timestamptz NOT NULL DEFAULT now()
)`;

// GREATEST with the caller's floor: the first token after a switch from Redis tokens (or on a new
// database) starts above every token Redis handed out, and a token PostgreSQL lost (a failover to
// an asynchronous standby) is still not handed out again while Redis remembers it.
const NEXT = `INSERT INTO ticker_fencing_tokens AS t (lease, token) VALUES ($1, $2::bigint + 1)
ON CONFLICT (lease) DO UPDATE SET token = GREATEST(t.token, $2::bigint) + 1, taken_at = now()
RETURNING token`;

/** duplicate_table, or unique_violation on pg_type: two first acquisitions created the table at once. */
const CREATED_CONCURRENTLY = new Set(['42P07', '23505']);

/**
 * Fencing tokens from one PostgreSQL row per lease (table `ticker_fencing_tokens`, created on
 * first use in the connection's schema). Each token is committed with `synchronous_commit = on`
 * before it is returned: flushed to the primary's WAL, and to a synchronous standby when one is
 * configured, so no crash or failover of Redis — and no PostgreSQL failover to a synchronous
 * standby — can hand it out again. One acquisition is one short transaction; renewals never
 * touch PostgreSQL.
 */
export function createPostgresFencingTokens(
  pool: TokenPool,
  options: {
    /**
     * Longest wait for the row (a frozen acquirer holding its lock) or the server; the lease
     * loop tries again. Also ends a transaction left idle that long (the frozen acquirer's own).
     */
    timeoutMs?: number;
  } = {},
): FencingTokenSource {
  const timeoutMs = Math.floor(options.timeoutMs ?? 5_000);
  // One round trip; the settings end with the transaction.
  const begin = [
    'BEGIN',
    'SET LOCAL synchronous_commit = on',
    `SET LOCAL statement_timeout = ${timeoutMs}`,
    `SET LOCAL idle_in_transaction_session_timeout = ${timeoutMs}`,
  ].join('; ');
  let ready: Promise<void> | undefined;
  const ensureTable = () =>
    (ready ??= pool.query(CREATE).then(
      () => undefined,
      (error: unknown) => {
        if (CREATED_CONCURRENTLY.has((error as { code?: string }).code ?? '')) return;
        ready = undefined;
        throw error;
      },
    ));

  return {
    next: async (lease, floor) => {
      await ensureTable();
      const client = await pool.connect();
      let failure: Error | undefined;
      try {
        await client.query(begin);
        const result = await client.query(NEXT, [lease, floor]);
        await client.query('COMMIT');
        const token = Number((result.rows[0] as { token?: string } | undefined)?.token);
        if (!Number.isSafeInteger(token))
          throw new Error(`fencing token ${String(token)} is not a safe integer`);
        return token;
      } catch (error) {
        failure = toError(error);
        throw error;
      } finally {
        // A failed connection is closed, not rolled back and reused: its state is unknown.
        client.release(failure);
      }
    },
  };
}
