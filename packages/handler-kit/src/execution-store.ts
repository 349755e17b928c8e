import { SchedulerError } from '@openpenpal/errors';
import type pg from 'pg';

/** What the handler kit remembers of an execution, so a duplicate trigger runs nothing. */
type ExecutionRecordStatus = 'running' | 'retry_scheduled' | 'succeeded' | 'skipped' | 'dead_lettered';

type ClaimResult =
  /** This worker runs the attempt. */
  | { claimed: true }
  /** Nothing to do: the execution finished, or this attempt was already run (a duplicate trigger). */
  | { claimed: false; status: ExecutionRecordStatus; attempt: number }
  /** Another worker runs this attempt now; wait and try again (its claim may expire). */
  | { claimed: false; busyUntil: number };

export interface ExecutionStore {
  migrate(): Promise<void>;
  /**
   * Claims `attempt` of an execution until `claimUntil` (epoch ms): it is free when unknown, when
   * an earlier attempt is recorded and the execution has not finished, or when a claim of this
   * attempt expired (its worker died).
   */
  claim(input: {
    executionId: string;
    taskType: string;
    taskId: string;
    attempt: number;
    now: number;
    claimUntil: number;
    /** Names this run of the attempt; `renew` takes it. */
    token: string;
  }): Promise<ClaimResult>;
  /**
   * Extends this attempt's claim to `claimUntil` while it runs; false when the claim is no longer
   * this attempt's to extend (it expired and another worker took it, or the attempt was settled).
   */
  renew(input: { executionId: string; attempt: number; token: string; claimUntil: number }): Promise<boolean>;
  /** Gives up this attempt's claim at once (shutdown interrupted it): the next delivery runs it. */
  settleInterrupted(executionId: string, attempt: number): Promise<void>;
  /** Records how the attempt ended (only while this attempt is the recorded one). */
  settle(
    executionId: string,
    attempt: number,
    status: Exclude<ExecutionRecordStatus, 'running'>,
  ): Promise<void>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,59}$/;

/** The table `<schema>.handler_executions`, one row per execution. */
export function createExecutionStore(pool: pg.Pool, schema: string): ExecutionStore {
  if (!IDENTIFIER.test(schema)) {
    throw new SchedulerError('CONFIG_INVALID', `not a lower-case PostgreSQL identifier: ${schema}`);
  }
  // The schema name is checked above against a closed pattern; values always travel as parameters.
  const table = `"${schema}".handler_executions`;
  // A value the table cannot hold (SQLSTATE class 22 data exception, 23 integrity violation: an
  // attempt below 1, an execution id that is no UUID, a time out of range) is the trigger's fault:
  // retrying it can never succeed, and as an outage it would hold its partition for good.
  const unavailable = (error: unknown): never => {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^2[23]/.test(code)) {
      const message = error instanceof Error ? error.message : String(error);
      throw new SchedulerError('VALIDATION_FAILED', `the trigger cannot be recorded: ${message}`, {
        cause: error,
        details: { sqlState: code },
      });
    }
    throw new SchedulerError('DEPENDENCY_UNAVAILABLE', 'PostgreSQL refused the execution record', {
      cause: error,
    });
  };
  return {
    migrate: async () => {
      // Every handler migrates at start: concurrent CREATE ... IF NOT EXISTS on an empty database
      // race in the catalogue (a unique violation on pg_namespace or pg_type), so one at a time.
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`handler-kit migrate ${schema}`]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        await client.query(`
          CREATE TABLE IF NOT EXISTS ${table} (
            execution_id uuid PRIMARY KEY,
            task_type text NOT NULL,
            task_id text NOT NULL,
            attempt integer NOT NULL CHECK (attempt >= 1),
            status text NOT NULL CHECK (status IN ('running', 'retry_scheduled', 'succeeded', 'skipped', 'dead_lettered')),
            claimed_until timestamptz,
            updated_at timestamptz NOT NULL DEFAULT now()
          )`);
        // Who holds the claim (a token per run of an attempt), so only that run extends it.
        await client.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS claimed_by text`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    claim: async ({ executionId, taskType, taskId, attempt, now, claimUntil, token }) => {
      // One statement: insert, or take the row over when the attempt is new (and the execution not
      // finished) or this attempt's claim expired. RETURNING says whether this call got it.
      const claimed = await pool
        .query<{ execution_id: string }>(
          `INSERT INTO ${table} AS e
             (execution_id, task_type, task_id, attempt, status, claimed_until, updated_at, claimed_by)
           VALUES ($1, $2, $3, $4, 'running', to_timestamp($6 / 1000.0), to_timestamp($5 / 1000.0), $7)
           ON CONFLICT (execution_id) DO UPDATE
             SET attempt = EXCLUDED.attempt, status = 'running', claimed_until = EXCLUDED.claimed_until,
                 updated_at = EXCLUDED.updated_at, claimed_by = EXCLUDED.claimed_by
             WHERE e.status NOT IN ('succeeded', 'skipped', 'dead_lettered')
               AND (e.attempt < EXCLUDED.attempt
                    OR (e.attempt = EXCLUDED.attempt AND e.status = 'running' AND e.claimed_until <= EXCLUDED.updated_at))
           RETURNING execution_id`,
          [executionId, taskType, taskId, attempt, now, claimUntil, token],
        )
        .catch(unavailable);
      if (claimed.rowCount === 1) return { claimed: true };
      const { rows } = await pool
        .query<{ status: ExecutionRecordStatus; attempt: number; claimed_until: Date | null }>(
          `SELECT status, attempt, claimed_until FROM ${table} WHERE execution_id = $1`,
          [executionId],
        )
        .catch(unavailable);
      const row = rows[0];
      if (!row) throw new SchedulerError('INTERNAL', `execution ${executionId} neither claimed nor recorded`);
      if (row.status === 'running' && row.attempt === attempt) {
        return { claimed: false, busyUntil: row.claimed_until?.getTime() ?? now };
      }
      return { claimed: false, status: row.status, attempt: row.attempt };
    },
    renew: async ({ executionId, attempt, token, claimUntil }) => {
      const renewed = await pool
        .query(
          `UPDATE ${table} SET claimed_until = to_timestamp($4 / 1000.0)
            WHERE execution_id = $1 AND attempt = $2 AND status = 'running' AND claimed_by = $3`,
          [executionId, attempt, token, claimUntil],
        )
        .catch(unavailable);
      return renewed.rowCount === 1;
    },
    settleInterrupted: async (executionId, attempt) => {
      await pool
        .query(
          `UPDATE ${table} SET claimed_until = now() WHERE execution_id = $1 AND attempt = $2 AND status = 'running'`,
          [executionId, attempt],
        )
        .catch(unavailable);
    },
    settle: async (executionId, attempt, status) => {
      await pool
        .query(
          `UPDATE ${table} SET status = $3, claimed_until = NULL, updated_at = now()
           WHERE execution_id = $1 AND attempt = $2`,
          [executionId, attempt, status],
        )
        .catch(unavailable);
    },
  };
}
