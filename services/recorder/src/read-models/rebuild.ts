import { SchedulerError } from '@openpenpal/errors';
import type { EventStore } from '@openpenpal/event-store';
import type pg from 'pg';
import type { Logger } from 'pino';
import { createCheckpoints } from './checkpoints.ts';
import { createProjector } from './projector.ts';
import {
  createRebuildTables,
  dropStatements,
  migrateReadModels,
  projectedTables,
  rebuildNames,
  taskOverviewSql,
  type ReadModelNames,
} from './schema.ts';

export interface RebuildResult {
  executions: bigint;
  tasks: bigint;
  durationMs: number;
}

/**
 * Consecutive failures after which a rebuild gives up: with the backoff (0.1 s doubling, at most 10 s)
 * about 25 s of an unreachable database. A rebuild is a command someone waits for; the live projector,
 * which keeps the tables meanwhile, is the one that waits out an outage.
 */
const MAX_FAILURES = 8;

/** The live set's replaced tables, renamed out of the way until dropped in the same transaction. */
const REPLACED = '_replaced';

/**
 * Rebuilds the read models from the event store with the live projector's own code, without touching
 * the live tables until the end: the projections fill `<table>_rebuild` tables (with their own
 * checkpoints, parking what they cannot apply as the live ones do) up to what was stored when it
 * started, then one transaction swaps them in and moves the live checkpoints to the rebuilt positions.
 * A rebuild that fails or is killed leaves the live tables as they were (the next one drops its
 * leftovers); two rebuilds of one schema never run at once (a session advisory lock). A recorder running
 * meanwhile keeps the live tables until the swap, then finds its checkpoint moved and continues from
 * the rebuilt position, so no event is applied twice or missed.
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
  const target = rebuildNames(names);
  await migrateReadModels(pool, names);
  const lock = await pool.connect();
  let lockBroken: Error | undefined;
  try {
    const locked = await lock.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
      [`openpenpal.recorder.rebuild:${names.schema}`],
    );
    if (locked.rows[0]?.locked !== true) {
      throw new SchedulerError('CONFLICT', `a rebuild of schema ${names.schema} is already running`, {
        details: { schema: names.schema },
      });
    }
    try {
      await createRebuildTables(pool, target);
      logger.info({ schema: names.schema }, 'replaying the event store into the rebuild tables');
      const projector = createProjector({
        pool,
        store,
        names: target,
        checkpoints: createCheckpoints(pool, names),
        logger,
        maxBatch: deps.maxBatch ?? 5_000,
        flushDelayMs: 5,
        maxFailures: MAX_FAILURES,
      });
      try {
        await projector.start();
        await projector.caughtUp();
      } finally {
        await projector.close();
      }
      const positions = await swapIn(pool, names, target);
      return { ...positions, durationMs: performance.now() - started };
    } catch (error) {
      await dropRebuildTables(pool, target).catch((dropError: unknown) => {
        logger.warn({ err: dropError }, 'could not drop the rebuild tables; the next rebuild will');
      });
      throw error;
    } finally {
      await lock
        .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [
          `openpenpal.recorder.rebuild:${names.schema}`,
        ])
        .catch((error: unknown) => {
          lockBroken = error instanceof Error ? error : new Error(String(error));
        });
    }
  } finally {
    // A connection whose unlock failed may still hold the lock: end it rather than pool it.
    lock.release(lockBroken);
  }
}

async function dropRebuildTables(pool: pg.Pool, target: ReadModelNames): Promise<void> {
  for (const sql of dropStatements(target)) await pool.query(sql);
}

/**
 * One transaction: waits for the live projections' batches in flight (their checkpoint rows), renames
 * the live tables away, points the view at the rebuilt ones, drops the old, gives the rebuilt tables and
 * their indexes the live names and the old tables' grants, and moves the live checkpoints to the rebuilt
 * positions.
 */
async function swapIn(
  pool: pg.Pool,
  live: ReadModelNames,
  target: ReadModelNames,
): Promise<{ executions: bigint; tasks: bigint }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const liveCheckpoints = [live.checkpointOf.executions, live.checkpointOf.tasks];
    await client.query(
      `SELECT name FROM ${live.checkpoints} WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`,
      [liveCheckpoints],
    );
    const rebuilt = await client.query<{ name: string; position: string }>(
      `SELECT name, position FROM ${live.checkpoints} WHERE name = ANY($1::text[])`,
      [[target.checkpointOf.executions, target.checkpointOf.tasks]],
    );
    const positionOf = (name: string): bigint =>
      BigInt(rebuilt.rows.find((row) => row.name === name)?.position ?? '0');
    const positions = {
      executions: positionOf(target.checkpointOf.executions),
      tasks: positionOf(target.checkpointOf.tasks),
    };
    const pairs = projectedTables(live).map((table, index) => ({
      live: table,
      rebuilt: projectedTables(target)[index] ?? '',
      bare: table.slice(`"${live.schema}".`.length),
    }));
    for (const { live: table, bare } of pairs)
      await client.query(`ALTER TABLE ${table} RENAME TO ${bare}${REPLACED}`);
    await copyGrants(client, live.schema, pairs);
    // CREATE OR REPLACE keeps the view (and who may read it); it now reads the rebuilt tables.
    await client.query(taskOverviewSql(live.taskOverview, target));
    await client.query(
      `DROP TABLE ${pairs.map(({ bare }) => `"${live.schema}".${bare}${REPLACED}`).join(', ')}`,
    );
    const indexes = await client.query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = ANY($2::text[])`,
      [live.schema, pairs.map(({ bare }) => `${bare}${target.suffix}`)],
    );
    for (const { rebuilt: table, bare } of pairs)
      await client.query(`ALTER TABLE ${table} RENAME TO ${bare}`);
    for (const { indexname } of indexes.rows) {
      if (!indexname.endsWith(target.suffix)) continue;
      await client.query(
        `ALTER INDEX "${live.schema}"."${indexname}" RENAME TO "${indexname.slice(0, -target.suffix.length)}"`,
      );
    }
    for (const projection of ['executions', 'tasks'] as const) {
      await client.query(`UPDATE ${live.checkpoints} SET position = $2, updated_at = now() WHERE name = $1`, [
        live.checkpointOf[projection],
        positions[projection].toString(),
      ]);
    }
    await client.query(`DELETE FROM ${live.checkpoints} WHERE name = ANY($1::text[])`, [
      [target.checkpointOf.executions, target.checkpointOf.tasks],
    ]);
    await client.query('COMMIT');
    return positions;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Gives each rebuilt table the privileges others had on the live one (the admin API's SELECT): default
 * privileges may not cover a table another role created.
 */
async function copyGrants(
  client: pg.ClientBase,
  schema: string,
  pairs: readonly { rebuilt: string; bare: string }[],
): Promise<void> {
  for (const { rebuilt, bare } of pairs) {
    const grants = await client.query<{ grantee: string; privilege: string; grantable: boolean }>(
      `SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee,
              a.privilege_type AS privilege, a.is_grantable AS grantable
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         CROSS JOIN LATERAL aclexplode(c.relacl) a
         LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE n.nspname = $1 AND c.relname = $2 AND a.grantee <> c.relowner`,
      [schema, `${bare}${REPLACED}`],
    );
    for (const { grantee, privilege, grantable } of grants.rows) {
      await client.query(
        `GRANT ${privilege} ON ${rebuilt} TO ${grantee}${grantable ? ' WITH GRANT OPTION' : ''}`,
      );
    }
  }
}
