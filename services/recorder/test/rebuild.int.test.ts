import { randomUUID } from 'node:crypto';
import type { ExecutionEvent } from '@openpenpal/contracts';
import { toStoredEvent } from '@openpenpal/task-definitions';
import { waitFor } from '@openpenpal/test-kit';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { rebuildReadModels } from '../src/read-models/rebuild.ts';
import { startRecorder } from './in-process.ts';
import { SCRIPTS, reap, run, type Child } from './processes.ts';
import {
  checkpointOf,
  createRecorderWorld,
  executionLife,
  lastPosition,
  logger,
  readModelSnapshot,
  withVariantFields,
  type RecorderWorld,
} from './support.ts';

const stack = inject('stack');

/** Stores execution events straight into the store, as the ingest would have. */
async function storeEvents(world: RecorderWorld, values: readonly ExecutionEvent[]): Promise<void> {
  for (let index = 0; index < values.length; index += 1_000) {
    const streams = new Map<string, ReturnType<typeof toStoredEvent>['event'][]>();
    for (const value of values.slice(index, index + 1_000)) {
      const { streamId, event } = toStoredEvent('execution', value, {});
      streams.set(streamId, [...(streams.get(streamId) ?? []), event]);
    }
    await world.store.appendMany([...streams].map(([streamId, events]) => ({ streamId, events })));
  }
}

/** Runs a recorder until its projections have applied everything stored, then stops it. */
async function projectAll(world: RecorderWorld): Promise<void> {
  const recorder = await startRecorder(world, { RECORDER_RELAY_ENABLED: 'false' });
  try {
    await waitFor(
      async () =>
        (await checkpointOf(world, 'projection:executions')) === (await lastPosition(world, 'execution')),
      { what: 'the live projection', timeoutMs: 60_000 },
    );
  } finally {
    await recorder.close();
  }
}

/** `promise`, or a failure naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const lives = (count: number) =>
  Array.from({ length: count }, (_, index) =>
    executionLife(randomUUID(), `task-${index % 5}`, index % 4 === 0 ? 'dead_lettered' : 'succeeded'),
  );

describe('rebuilding the read models', () => {
  let world: RecorderWorld;
  const children: Child[] = [];
  const pools: pg.Pool[] = [];
  beforeEach(async () => {
    world = await createRecorderWorld(stack);
  });
  afterEach(async () => {
    await reap(children);
    for (const pool of pools.splice(0)) await pool.end();
    await world.close();
  });

  it('finishes over an event it cannot apply, parking it as the live projection did', async () => {
    const events = lives(20).flat();
    // The first execution dead-letters: triggered, started, failed, dead-lettered.
    expect(events[2]!.event).toHaveProperty(['org.openpenpal.scheduler.ExecutionFailed']);
    events[2] = withVariantFields(events[2]!, { attempt: 2 ** 31 - 1 });
    await storeEvents(world, events);
    await projectAll(world);
    const live = await readModelSnapshot(world.pg.pool, world.names);
    expect(live.parked_events).toHaveLength(1);

    await within(
      rebuildReadModels({ pool: world.pg.pool, store: world.store, names: world.names, logger }),
      60_000,
      'the rebuild',
    );
    expect(await readModelSnapshot(world.pg.pool, world.names)).toEqual(live);
  });

  it('leaves the live read models as they were when a rebuild is killed midway', async () => {
    await storeEvents(world, lives(1_500).flat());
    await projectAll(world);
    const live = await readModelSnapshot(world.pg.pool, world.names);
    const livePosition = await checkpointOf(world, 'projection:executions');

    // Small batches: the rebuild takes seconds, and is killed once it has applied some.
    const rebuild = run(SCRIPTS.rebuild, { ...world.env, RECORDER_PROJECTOR_BATCH: '5' });
    children.push(rebuild);
    await waitFor(
      async () =>
        (await checkpointOf(world, 'rebuild:projection:executions')) > 0n ||
        (await checkpointOf(world, 'projection:executions')) !== livePosition,
      { what: 'the rebuild to get going', timeoutMs: 30_000, intervalMs: 10 },
    );
    rebuild.process.kill('SIGKILL');
    expect(await rebuild.exited, rebuild.output()).toBeNull();

    expect(await readModelSnapshot(world.pg.pool, world.names)).toEqual(live);
    expect(await checkpointOf(world, 'projection:executions')).toBe(livePosition);
    // The next rebuild clears what the killed one left and completes.
    await rebuildReadModels({ pool: world.pg.pool, store: world.store, names: world.names, logger });
    expect(await readModelSnapshot(world.pg.pool, world.names)).toEqual(live);
  });

  it('leaves the live read models as they were when a rebuild fails midway, and gives up', async () => {
    await storeEvents(world, lives(200).flat());
    await projectAll(world);
    const live = await readModelSnapshot(world.pg.pool, world.names);
    // The rebuild's own pool: after two batches its writes to the executions table fail as a lost
    // connection does, for good.
    const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 4 });
    pools.push(pool);
    let writes = 0;
    failClientQueries(pool, (text) => /^\s*INSERT INTO "[a-z0-9_]+"\.executions/.test(text) && ++writes > 2);

    await expect(
      within(
        rebuildReadModels({ pool, store: world.store, names: world.names, logger, maxBatch: 10 }),
        60_000,
        'the rebuild',
      ),
    ).rejects.toThrow(/Connection terminated/);
    expect(writes).toBeGreaterThan(2);
    expect(await readModelSnapshot(world.pg.pool, world.names)).toEqual(live);
  });
});

type Query = (...args: unknown[]) => Promise<unknown>;

/** Makes every client of `pool` fail the statements `fails` picks (promise calls) as a lost connection does. */
function failClientQueries(pool: pg.Pool, fails: (text: string) => boolean): void {
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as Query;
    (client as unknown as { query: Query }).query = (...args: unknown[]) =>
      typeof args[0] === 'string' && typeof args.at(-1) !== 'function' && fails(args[0])
        ? Promise.reject(new Error('Connection terminated unexpectedly'))
        : query(...args);
  });
}
