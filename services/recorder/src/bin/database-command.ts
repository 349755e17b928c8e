import { toError } from '@openpenpal/errors';
import { openEventStore, type EventStore } from '@openpenpal/event-store';
import { createLogger, loadConfig } from '@openpenpal/service-kit';
import pg from 'pg';
import type { Logger } from 'pino';
import { databaseCommandConfigSchema } from '../config.ts';
import { readModelNames, type ReadModelNames } from '../read-models/schema.ts';

export interface DatabaseCommandContext {
  config: ReturnType<typeof loadConfig<typeof databaseCommandConfigSchema>>;
  pool: pg.Pool;
  store: EventStore;
  names: ReadModelNames;
  logger: Logger;
}

/**
 * Runs a read-model command (`rebuild`, `retry-parked`): loads the database settings with the runtime's
 * `loadConfig` (a bad one is named, exit 1), opens a small pool and the event store, runs `work`, and
 * closes both. Sets the exit code: 0 on success, 1 on a failure (logged).
 */
export async function runDatabaseCommand(
  name: string,
  work: (context: DatabaseCommandContext) => Promise<void>,
): Promise<void> {
  let config;
  try {
    config = loadConfig(databaseCommandConfigSchema);
  } catch (error) {
    process.stderr.write(`recorder ${name}: ${toError(error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const logger = createLogger({ service: `recorder-${name}`, level: config.LOG_LEVEL });
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: Math.min(4, config.DATABASE_POOL_SIZE),
  });
  let exitCode = 0;
  try {
    const eventStore = await openEventStore(config, {
      pool,
      logger: logger.child({ component: 'event-store' }),
    });
    try {
      await work({
        config,
        pool,
        store: eventStore.store,
        names: readModelNames(config.RECORDER_DB_SCHEMA),
        logger,
      });
    } finally {
      await eventStore.close();
    }
  } catch (error) {
    logger.fatal({ err: toError(error) }, `${name} failed`);
    exitCode = 1;
  } finally {
    await pool.end();
  }
  process.exitCode = exitCode;
}
