// `pnpm --filter @openpenpal/recorder run rebuild`: empties the read models and replays the event store into
// them. Reads the recorder's own variables for the databases (see README); needs no Kafka. Exits 1 on
// a bad setting (naming it) or a failed rebuild.
import { toError } from '@openpenpal/errors';
import { openEventStore } from '@openpenpal/event-store';
import { createLogger, loadConfig } from '@openpenpal/service-kit';
import pg from 'pg';
import { rebuildConfigSchema } from '../config.ts';
import { rebuildReadModels } from '../read-models/rebuild.ts';
import { readModelNames } from '../read-models/schema.ts';

let config;
try {
  config = loadConfig(rebuildConfigSchema);
} catch (error) {
  process.stderr.write(`recorder rebuild: ${toError(error).message}\n`);
  process.exit(1);
}
const logger = createLogger({ service: 'recorder-rebuild', level: config.LOG_LEVEL });
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
