import type { EventStore } from '@openpenpal/event-store';
import type pg from 'pg';
import type { Logger } from 'pino';
import { CHECKPOINT, createCheckpoints } from './checkpoints.ts';
import { createProjector } from './projector.ts';
import { migrateReadModels, projectedTables, type ReadModelNames } from './schema.ts';

export interface RebuildResult {
  executions: bigint;
  tasks: bigint;
  durationMs: number;
}

/**
 * Empties the read models and replays the store into them with the live projector's own code, so the
 * tables end up as the live run leaves them. The truncate and the checkpoint reset commit together; a
 * recorder running meanwhile finds its checkpoint moved, drops what it was applying and continues from
 * the rebuilt position (compare-and-set), so both never apply one event twice.
 */
export async function rebuildReadModels(deps: {
  pool: pg.Pool;
  store: EventStore;
  names: ReadModelNames;
  logger: Logger;
  maxBatch?: number;
}): Promise<RebuildResult> {
  const { pool, store, names, logger } = deps;
  const started = performance.now();
  await migrateReadModels(pool, names);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`TRUNCATE ${projectedTables(names).join(', ')}`);
    for (const name of [CHECKPOINT.executions, CHECKPOINT.tasks]) {
      await client.query(
        `INSERT INTO ${names.checkpoints} (name, position) VALUES ($1, 0)
         ON CONFLICT (name) DO UPDATE SET position = 0, updated_at = now()`,
        [name],
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  logger.info({ schema: names.schema }, 'read models emptied; replaying the event store');
  const projector = createProjector({
    pool,
    store,
    names,
    checkpoints: createCheckpoints(pool, names),
    logger,
    maxBatch: deps.maxBatch ?? 5_000,
    flushDelayMs: 5,
  });
  try {
    await projector.start();
    await projector.caughtUp();
    return { ...projector.positions(), durationMs: performance.now() - started };
  } finally {
    await projector.close();
  }
}
