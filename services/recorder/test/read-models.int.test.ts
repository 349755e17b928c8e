import { randomUUID } from 'node:crypto';
import { waitFor } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { rebuildReadModels } from '../src/read-models/rebuild.ts';
import { startRecorder, type RunningRecorder } from './in-process.ts';
import {
  countEvents,
  createRecorderWorld,
  executionLife,
  logger,
  readModelSnapshot,
  sendExecutionEvents,
  type RecorderWorld,
} from './support.ts';

const stack = inject('stack');

describe('the read models', () => {
  let world: RecorderWorld;
  let running: RunningRecorder[] = [];
  beforeEach(async () => {
    world = await createRecorderWorld(stack);
    running = [];
  });
  afterEach(async () => {
    for (const recorder of running) await recorder.close();
    await world.close();
  });
  const start = async (overrides: Parameters<typeof startRecorder>[1] = {}) => {
    const recorder = await startRecorder(world, overrides);
    running.push(recorder);
    return recorder;
  };

  it('keeps the executions and task_stats read models, equal to a rebuild from the store', async () => {
    const lives = Array.from({ length: 40 }, (_, index) =>
      executionLife(
        randomUUID(),
        `task-${index % 4}`,
        index % 5 === 0 ? 'dead_lettered' : 'succeeded',
        Date.parse('2026-12-01T00:00:00Z') + index * 1000,
      ),
    );
    // Interleaved, as real producers write them: every execution's trigger first, then the rest.
    await sendExecutionEvents(world, [
      ...lives.map((life) => life[0]!),
      ...lives.flatMap((life) => life.slice(1)),
    ]);
    await start({ RECORDER_PROJECTOR_BATCH: '7' });
    const total = lives.flat().length;
    await waitFor(async () => (await countEvents(world.pg.pool, world.pg.schema)).total === total, {
      what: 'every event',
      timeoutMs: 30_000,
    });
    const [last] = await world.store
      .readAll({ after: 0n, maxCount: 10_000 })
      .then((events) => events.slice(-1));
    await waitFor(async () => (await positionOf(world, 'projection:executions')) === last!.position, {
      what: 'the projector',
      timeoutMs: 30_000,
    });

    const live = await readModelSnapshot(world.pg.pool, world.names);
    expect(live.executions).toHaveLength(40);
    const stats = live.task_stats as {
      task_id: string;
      run_count: string;
      failure_count: string;
      last_status: string;
    }[];
    // Executions 0, 5, 10 … 35 fail: two per task. The last to finish per task (36 … 39) succeeded.
    expect(
      stats.map((row) => [row.task_id, Number(row.run_count), Number(row.failure_count), row.last_status]),
    ).toEqual([
      ['task-0', 10, 2, 'succeeded'],
      ['task-1', 10, 2, 'succeeded'],
      ['task-2', 10, 2, 'succeeded'],
      ['task-3', 10, 2, 'succeeded'],
    ]);
    const failed = (live.executions as { status: string; error_code: string | null }[]).filter(
      (row) => row.status === 'dead_lettered',
    );
    expect(failed).toHaveLength(8);
    expect(failed.every((row) => row.error_code === 'NON_RETRYABLE_FAILURE')).toBe(true);

    await rebuildReadModels({ pool: world.pg.pool, store: world.store, names: world.names, logger });
    expect(await readModelSnapshot(world.pg.pool, world.names)).toEqual(live);
  });

  it('lets a rebuild run while the recorder records, neither applying an event twice', async () => {
    await start({ RECORDER_PROJECTOR_BATCH: '50', RECORDER_PROJECTOR_FLUSH_MS: '5' });
    const lives = Array.from({ length: 300 }, (_, index) =>
      executionLife(randomUUID(), `task-${index % 5}`, index % 4 === 0 ? 'dead_lettered' : 'succeeded'),
    );
    await sendExecutionEvents(world, lives.slice(0, 150).flat());
    await waitFor(async () => (await countEvents(world.pg.pool, world.pg.schema)).total > 200, {
      what: 'some events',
      timeoutMs: 30_000,
    });
    const [rebuilt] = await Promise.all([
      rebuildReadModels({
        pool: world.pg.pool,
        store: world.store,
        names: world.names,
        logger,
        maxBatch: 40,
      }),
      sendExecutionEvents(world, lives.slice(150).flat()),
    ]);
    expect(rebuilt.executions).toBeGreaterThan(0n);
    const total = lives.flat().length;
    await waitFor(async () => (await countEvents(world.pg.pool, world.pg.schema)).total === total, {
      what: 'every event',
      timeoutMs: 30_000,
    });
    const last = (await world.store.readAll({ maxCount: 10_000 })).at(-1)!.position;
    await waitFor(async () => (await positionOf(world, 'projection:executions')) === last, {
      what: 'the live projector',
      timeoutMs: 30_000,
    });

    const live = await readModelSnapshot(world.pg.pool, world.names);
    const stats = live.task_stats as { run_count: string; failure_count: string }[];
    expect(stats.reduce((sum, row) => sum + Number(row.run_count), 0)).toBe(300);
    expect(stats.reduce((sum, row) => sum + Number(row.failure_count), 0)).toBe(75);
    await rebuildReadModels({ pool: world.pg.pool, store: world.store, names: world.names, logger });
    expect(await readModelSnapshot(world.pg.pool, world.names)).toEqual(live);
  });
});

async function positionOf(world: RecorderWorld, name: string): Promise<bigint> {
  const result = await world.pg.pool.query<{ position: string }>(
    `SELECT position FROM ${world.names.checkpoints} WHERE name = $1`,
    [name],
  );
  return BigInt(result.rows[0]?.position ?? '-1');
}
