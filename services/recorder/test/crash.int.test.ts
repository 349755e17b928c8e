import { randomUUID } from 'node:crypto';
import { createTaskDefinitions, seedDefaultTasks } from '@openpenpal/task-definitions';
import { waitFor } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { SCRIPTS, freePort, reap, run, type Child } from './processes.ts';
import {
  checkpointOf,
  countEvents,
  createRecorderWorld,
  executionLife,
  lastPosition,
  readModelSnapshot,
  sendExecutionEvents,
  type RecorderWorld,
} from './support.ts';

const stack = inject('stack');

describe('a recorder process killed mid-stream', () => {
  let world: RecorderWorld;
  const children: Child[] = [];
  beforeEach(async () => {
    world = await createRecorderWorld(stack, { executionPartitions: 3 });
  });
  afterEach(async () => {
    await reap(children);
    await world.close();
  });

  it('stores every event exactly once after a restart, and its read models equal a rebuild', async () => {
    const clock = { now: () => Date.parse('2026-12-01T08:00:00Z') };
    await seedDefaultTasks({ store: world.store, clock }, { actor: 'ops' });
    const lives = Array.from({ length: 3_000 }, (_, index) =>
      executionLife(
        randomUUID(),
        `task-${index % 7}`,
        index % 6 === 0 ? 'dead_lettered' : 'succeeded',
        clock.now() + index * 10,
      ),
    );
    const events = lives.flat();
    const firstPart = Math.floor(lives.length / 3);
    await sendExecutionEvents(world, lives.slice(0, firstPart).flat());

    const first = run(SCRIPTS.main, world.env);
    children.push(first);
    await waitFor(async () => (await countEvents(world.pg.pool, world.pg.schema)).total > 1_000, {
      what: 'the first process to record',
      timeoutMs: 60_000,
    });
    await createTaskDefinitions({ store: world.store, clock }).updateTask(
      'letter_cleanup',
      { priority: 'high' },
      { actor: 'ops' },
    );
    // Killed while messages are arriving: most of the stream is not even produced yet.
    const producing = sendExecutionEvents(world, lives.slice(firstPart).flat());
    first.process.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    const atKill = await countEvents(world.pg.pool, world.pg.schema);
    await producing;

    const port = await freePort();
    const second = run(SCRIPTS.main, { ...world.env, HTTP_PORT: String(port) });
    children.push(second);
    const expected = events.length + 6;
    await waitFor(async () => (await countEvents(world.pg.pool, world.pg.schema)).total >= expected, {
      what: 'every event',
      timeoutMs: 90_000,
    });
    await waitFor(
      async () =>
        (await checkpointOf(world, 'projection:executions')) === (await lastPosition(world, 'execution')) &&
        (await checkpointOf(world, 'projection:tasks')) === (await lastPosition(world, 'task')),
      { what: 'the projector to catch up', timeoutMs: 60_000 },
    );
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: {
        started: true,
        fatal: true,
        kafka: true,
        postgres: true,
        'event-store': true,
        'consumer:ingest': true,
      },
    });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const duplicates = /^scheduler_recorder_events_duplicate_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1] ?? '0';
    console.log(
      `killed with ${atKill.total} of ${expected} events stored; the restart skipped ${duplicates} redelivered`,
    );
    second.process.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    expect(atKill.total).toBeLessThan(expected);
    expect(await countEvents(world.pg.pool, world.pg.schema)).toEqual({
      total: expected,
      distinct: expected,
    });
    for (const life of lives.slice(0, 50)) {
      const stream = await world.store.readStream(`execution-${life[0]!.execution_id}`);
      expect(stream.map((event) => event.id)).toEqual(life.map((value) => value.event_id));
    }
    const live = await readModelSnapshot(world.pg.pool, world.names);
    expect(live.executions).toHaveLength(lives.length);

    const rebuilt = run(SCRIPTS.rebuild, world.env);
    children.push(rebuilt);
    expect(await rebuilt.exited, rebuilt.output()).toBe(0);
    expect(await readModelSnapshot(world.pg.pool, world.names)).toEqual(live);
  });
});
