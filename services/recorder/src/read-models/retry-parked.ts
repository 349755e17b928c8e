import type { EventStore } from '@openpenpal/event-store';
import type pg from 'pg';
import type { Logger } from 'pino';
import { parkedEventsTable, trying } from './parked-events.ts';
import { inTransaction, projectionsOf } from './projector.ts';
import { migrateReadModels, type ProjectionName, type ReadModelNames } from './schema.ts';

export interface RetryOutcome {
  /** Parked events tried again. */
  retried: number;
  /** Of those, applied now and no longer parked. */
  applied: number;
}

/**
 * Tries every parked event again, oldest first, each in its own transaction: applied to the read models
 * as the live projection would (the row as it is now, plus the event) and removed from the parked
 * events, or, when it still cannot be applied, kept with the new error and one more retry counted. Each
 * transaction first locks its projection's checkpoint row, as a live batch does, so the two never write
 * one row at once. A failure that is not the event's (the database away) stops the run: what was
 * applied stays applied, the rest stays parked.
 *
 * An event applied this way comes after events recorded later than it, which the folds tolerate (they
 * take events out of order, as the ingest may record them); a rebuild applies it in store order.
 */
export async function retryParkedEvents(deps: {
  pool: pg.Pool;
  store: EventStore;
  names: ReadModelNames;
  logger: Logger;
}): Promise<Record<ProjectionName, RetryOutcome>> {
  const { pool, store, names, logger } = deps;
  await migrateReadModels(pool, names);
  const table = parkedEventsTable(names);
  const projections = projectionsOf(store, names);
  const outcome = { executions: { retried: 0, applied: 0 }, tasks: { retried: 0, applied: 0 } };
  for (const projection of ['executions', 'tasks'] as const) {
    for (const parked of await table.list(pool, projection)) {
      const [event] = await store.readStream(parked.streamId, { fromRevision: parked.revision, maxCount: 1 });
      if (event?.id !== parked.eventId) {
        logger.warn({ parked }, 'a parked event is not where it was stored; left parked');
        continue;
      }
      let failure: unknown;
      await inTransaction(pool, async (client) => {
        await client.query(`SELECT position FROM ${names.checkpoints} WHERE name = $1 FOR UPDATE`, [
          names.checkpointOf[projection],
        ]);
        const applied = await trying(
          client,
          'retry',
          () => projections[projection].apply(client, [event]),
          (error) => (failure = error),
        );
        if (applied) await table.remove(client, parked);
        else await table.retried(client, parked, failure);
        return true;
      });
      outcome[projection].retried++;
      if (failure === undefined) outcome[projection].applied++;
      logger.info(
        { projection, stream: parked.streamId, revision: parked.revision.toString(), applied: !failure },
        failure === undefined ? 'parked event applied' : 'parked event still cannot be applied',
      );
    }
  }
  return outcome;
}
