import type { EventStore, RecordedEvent } from '@openpenpal/event-store';
import { RECORDED_KINDS, TASK_CATEGORY } from '@openpenpal/task-definitions';
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  createCheckpointedSubscriber,
  type Batch,
  type CheckpointedSubscriber,
} from '../checkpointed-subscriber.ts';
import type { Checkpoints } from './checkpoints.ts';
import { createExecutionProjection } from './execution-projection.ts';
import { applyOrPark, parkedEventsTable, type ApplyEvents } from './parked-events.ts';
import type { ProjectionName, ReadModelNames } from './schema.ts';
import { createTaskProjection } from './task-projection.ts';

/**
 * Runs `work` in one transaction; it resolves false to roll back (the checkpoint had moved). While
 * the client is checked out it listens for its connection's end: PostgreSQL ending the session
 * between two statements (a restart ends idle sessions too) is emitted as an 'error' on the client,
 * which without a listener ends the process; here it fails the transaction, and the caller retries.
 */
export async function inTransaction(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<boolean>,
): Promise<boolean> {
  const client = await pool.connect();
  const session: { lost?: Error } = {};
  const onLost = (error: Error) => {
    session.lost = error;
  };
  client.on('error', onLost);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const keep = await work(client);
    await client.query(keep ? 'COMMIT' : 'ROLLBACK');
    return keep;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      // A connection that cannot roll back is not returned to the pool.
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw session.lost ?? error;
  } finally {
    client.off('error', onLost);
    client.release(broken ?? session.lost);
  }
}

/** The two projections writing one set of tables: what each reads, and how it applies events. */
export function projectionsOf(
  store: EventStore,
  names: ReadModelNames,
): Record<ProjectionName, { category: string; apply: ApplyEvents }> {
  const executions = createExecutionProjection(names);
  const tasks = createTaskProjection({ store, names });
  return {
    executions: {
      category: RECORDED_KINDS.execution.category,
      apply: (client, events) => executions.apply(client, events),
    },
    tasks: { category: TASK_CATEGORY, apply: (client, events) => tasks.apply(client, events) },
  };
}

export interface Projector {
  start(): Promise<void>;
  /** Resolves once both projections have applied every event stored when they (re)started. */
  caughtUp(): Promise<void>;
  positions(): { executions: bigint; tasks: bigint };
  close(): Promise<void>;
}

export interface ProjectorOptions {
  pool: pg.Pool;
  store: EventStore;
  /** The tables to keep (live, or a rebuild's) and their projections' checkpoints. */
  names: ReadModelNames;
  checkpoints: Checkpoints;
  logger: Logger;
  maxBatch?: number;
  flushDelayMs?: number;
  /** Consecutive failures after which a projection gives up (default: retries for as long as it takes). */
  maxFailures?: number;
  onBatch?(projection: ProjectionName, batch: Batch, durationMs: number): void;
  /** Events a batch parked (committed with it). */
  onParked?(projection: ProjectionName, events: readonly RecordedEvent[]): void;
  /** A projection stopped for good (a failure that is not retryable). */
  onFatal?: (error: Error) => void;
}

/**
 * Keeps the read models: `executions` and `task_stats` from category `execution`, `tasks` from category
 * `task`. Each batch updates its rows, parks the events it cannot apply and moves its checkpoint in one
 * transaction, so after a crash the rows and the checkpoint agree and no event is applied twice or
 * skipped, and no single event can stop a projection.
 */
export function createProjector(options: ProjectorOptions): Projector {
  const { pool, store, names, checkpoints, logger } = options;
  const parked = parkedEventsTable(names);
  const projections = projectionsOf(store, names);
  const subscriber = (projection: ProjectionName): CheckpointedSubscriber => {
    const checkpoint = names.checkpointOf[projection];
    const { category, apply } = projections[projection];
    return createCheckpointedSubscriber({
      name: checkpoint,
      store,
      category,
      checkpoints,
      logger,
      ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
      ...(options.flushDelayMs === undefined ? {} : { flushDelayMs: options.flushDelayMs }),
      ...(options.maxFailures === undefined ? {} : { maxFailures: options.maxFailures }),
      handle: async (batch) => {
        let setAside: RecordedEvent[] = [];
        const kept = await inTransaction(pool, async (client) => {
          // First: the row lock on the checkpoint serialises two writers of this projection.
          if (!(await checkpoints.advance(checkpoint, batch.from, batch.to, client))) return false;
          setAside = await applyOrPark(client, batch.events, apply, async (event, error) => {
            logger.warn(
              { err: error, projection, stream: event.streamId, revision: event.revision.toString() },
              'parked an event the projection cannot apply',
            );
            await parked.park(client, projection, event, error);
          });
          return true;
        });
        if (kept && setAside.length > 0) options.onParked?.(projection, setAside);
        return kept;
      },
      onBatch: (batch, durationMs) => options.onBatch?.(projection, batch, durationMs),
      ...(options.onFatal ? { onFatal: options.onFatal } : {}),
    });
  };
  const subscribers = { executions: subscriber('executions'), tasks: subscriber('tasks') };
  return {
    start: async () => {
      await subscribers.executions.start();
      await subscribers.tasks.start();
    },
    caughtUp: async () => {
      await Promise.all([subscribers.executions.caughtUp(), subscribers.tasks.caughtUp()]);
    },
    positions: () => ({ executions: subscribers.executions.position(), tasks: subscribers.tasks.position() }),
    close: async () => {
      await Promise.all([subscribers.executions.close(), subscribers.tasks.close()]);
    },
  };
}
