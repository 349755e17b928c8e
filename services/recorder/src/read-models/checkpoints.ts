import type pg from 'pg';
import type { ReadModelNames } from './schema.ts';

/**
 * Checkpoints of the recorder's subscriptions (projections and the relay), each the store position of
 * the last event it has fully handled. Moving one is compare-and-set: a writer that finds another
 * position than it started from (a rebuild reset it, or a second replica moved it) applies nothing and
 * starts again from the stored position, so no event is applied twice.
 */
export interface Checkpoints {
  /** The stored position; 0 (the beginning) for a name never saved. */
  load(name: string): Promise<bigint>;
  /**
   * Moves `name` from `from` to `to`; false when the stored position is not `from`. With `client`, inside
   * the caller's transaction (so the checkpoint commits with the rows it covers).
   */
  advance(name: string, from: bigint, to: bigint, client?: pg.ClientBase): Promise<boolean>;
}

export function createCheckpoints(pool: pg.Pool, names: ReadModelNames): Checkpoints {
  return {
    load: async (name) => {
      await pool.query(
        `INSERT INTO ${names.checkpoints} (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING`,
        [name],
      );
      const result = await pool.query<{ position: string }>(
        `SELECT position FROM ${names.checkpoints} WHERE name = $1`,
        [name],
      );
      return BigInt(result.rows[0]?.position ?? '0');
    },
    advance: async (name, from, to, client) => {
      // The row lock makes a concurrent advance wait, then re-check the position and find it moved.
      const result = await (client ?? pool).query(
        `UPDATE ${names.checkpoints} SET position = $3, updated_at = now() WHERE name = $1 AND position = $2`,
        [name, from.toString(), to.toString()],
      );
      return result.rowCount === 1;
    },
  };
}

/** Names of the recorder's checkpoints besides the projections' (`ReadModelNames.checkpointOf`). */
export const CHECKPOINT = {
  relay: 'relay:task-definitions',
} as const;
