import type { EventStore } from '@openpenpal/event-store';
import { RECORDED_KINDS, TASK_CATEGORY } from '@openpenpal/task-definitions';
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  createCheckpointedSubscriber,
  type Batch,
  type CheckpointedSubscriber,
} from '../checkpointed-subscriber.ts';
import { CHECKPOINT, type Checkpoints } from './checkpoints.ts';
import { createExecutionProjection } from './execution-projection.ts';
import type { ReadModelNames } from './schema.ts';
import { createTaskProjection } from './task-projection.ts';

/** Runs `work` in one transaction; it resolves false to roll back (the checkpoint had moved). */
async function inTransaction(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<boolean>,
): Promise<boolean> {
  const client = await pool.connect();
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
    throw error;
  } finally {
    client.release(broken);
  }
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
  names: ReadModelNames;
  checkpoints: Checkpoints;
  logger: Logger;
  maxBatch?: number;
  flushDelayMs?: number;
  onBatch?(projection: 'executions' | 'tasks', batch: Batch, durationMs: number): void;
  /** A projection stopped for good (a failure that is not retryable). */
  onFatal?: (error: Error) => void;
}

/**
 * Keeps the read models: `executions` and `task_stats` from category `execution`, `tasks` from category
 * `task`. Each batch updates its rows and moves its checkpoint in one transaction, so after a crash
 * the rows and the checkpoint agree and no event is applied twice or skipped.
 */
export function createProjector(options: ProjectorOptions): Projector {
  const { pool, store, names, checkpoints, logger } = options;
  const executions = createExecutionProjection(names);
  const tasks = createTaskProjection({ store, names });
  const subscriber = (
    projection: 'executions' | 'tasks',
    category: string,
    apply: (client: pg.PoolClient, batch: Batch) => Promise<void>,
  ): CheckpointedSubscriber =>
    createCheckpointedSubscriber({
      name: CHECKPOINT[projection],
      store,
      category,
      checkpoints,
      logger,
      ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
      ...(options.flushDelayMs === undefined ? {} : { flushDelayMs: options.flushDelayMs }),
      handle: (batch) =>
        inTransaction(pool, async (client) => {
          // First: the row lock on the checkpoint serialises two writers of this projection.
          if (!(await checkpoints.advance(CHECKPOINT[projection], batch.from, batch.to, client)))
            return false;
          await apply(client, batch);
          return true;
        }),
      onBatch: (batch, durationMs) => options.onBatch?.(projection, batch, durationMs),
      ...(options.onFatal ? { onFatal: options.onFatal } : {}),
    });
  const subscribers = {
    executions: subscriber('executions', RECORDED_KINDS.execution.category, (client, batch) =>
      executions.apply(client, batch.events),
    ),
    tasks: subscriber('tasks', TASK_CATEGORY, (client, batch) => tasks.apply(client, batch.events)),
  };
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
