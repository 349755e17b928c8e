// `pnpm recorder:retry-parked` (or `pnpm --filter @openpenpal/recorder run retry-parked`): tries every
// event the projections parked again, e.g. after a fix; those that apply now leave the parked events,
// the others stay with their new error. Safe while the recorder runs. Reads the recorder's own
// variables for the databases (see README); needs no Kafka. Exits 1 on a bad setting (naming it) or a
// failure (the database away); 0 also when some events are still parked (the log and the
// scheduler_recorder_parked_events gauge say how many).
import { retryParkedEvents } from '../read-models/retry-parked.ts';
import { runDatabaseCommand } from './database-command.ts';

await runDatabaseCommand('retry-parked', async (context) => {
  const outcome = await retryParkedEvents(context);
  context.logger.info(outcome, 'parked events retried');
});
