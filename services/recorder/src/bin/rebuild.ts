// `pnpm recorder:rebuild` (or `pnpm --filter @openpenpal/recorder run rebuild`): replays the event store
// into fresh `_rebuild` tables and swaps them in with one transaction at the end, so the live read
// models stay as they are until then (and stay so if it fails or is killed). Reads the recorder's own
// variables for the databases (see README); needs no Kafka. Exits 1 on a bad setting (naming it) or a
// failed rebuild.
import { rebuildReadModels } from '../read-models/rebuild.ts';
import { runDatabaseCommand } from './database-command.ts';

await runDatabaseCommand('rebuild', async ({ config, pool, store, names, logger }) => {
  const result = await rebuildReadModels({
    pool,
    store,
    names,
    logger,
    maxBatch: config.RECORDER_PROJECTOR_BATCH,
  });
  logger.info(
    {
      executionsPosition: result.executions.toString(),
      tasksPosition: result.tasks.toString(),
      durationMs: Math.round(result.durationMs),
    },
    'read models rebuilt and swapped in',
  );
});
