// `pnpm --filter @openpenpal/recorder run rebuild`: empties the read models and replays the event store into
// them. Reads the recorder's own variables (see README); needs no Kafka.
import { toError } from '@openpenpal/errors';
import { createLogger } from '@openpenpal/service-kit';
import pg from 'pg';
import { loadRebuildConfig } from './config.ts';
import { openEventStore } from './event-store.ts';
import { rebuildReadModels } from './read-models/rebuild.ts';
import { readModelNames } from './read-models/schema.ts';

const config = loadRebuildConfig();
const logger = createLogger({ service: 'recorder-rebuild', level: config.LOG_LEVEL });
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 4 });
let exitCode = 0;
try {
  const eventStore = await openEventStore(config, pool, logger);
  try {
    const result = await rebuildReadModels({
      pool,
      store: eventStore.store,
      names: readModelNames(config.RECORDER_DB_SCHEMA),
      logger,
      maxBatch: config.RECORDER_PROJECTOR_BATCH,
    });
    logger.info(
      {
        executionsPosition: result.executions.toString(),
        tasksPosition: result.tasks.toString(),
        durationMs: Math.round(result.durationMs),
      },
      'read models rebuilt',
    );
  } finally {
    await eventStore.close();
  }
} catch (error) {
  logger.fatal({ err: toError(error) }, 'rebuild failed');
  exitCode = 1;
} finally {
  await pool.end();
}
process.exitCode = exitCode;
