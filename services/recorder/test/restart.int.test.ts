import { randomUUID } from 'node:crypto';
import { waitFor } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { SCRIPTS, reap, run, type Child } from './processes.ts';
import {
  countEvents,
  createRecorderWorld,
  executionLife,
  sendExecutionEvents,
  type RecorderWorld,
} from './support.ts';

const stack = inject('stack');

describe('a recorder killed and restarted at once', () => {
  let world: RecorderWorld;
  const children: Child[] = [];
  beforeEach(async () => {
    world = await createRecorderWorld(stack, { executionPartitions: 3 });
  });
  afterEach(async () => {
    await reap(children);
    await world.close();
  });

  it('records again within 10 s of the SIGKILL, with the default session timeout', async () => {
    // The settings a deployment runs with: the runtime's default session timeout (the other tests
    // set their own).
    const { KAFKA_SESSION_TIMEOUT_MS: _, ...env } = world.env;
    const first = run(SCRIPTS.main, env);
    children.push(first);
    await sendExecutionEvents(world, executionLife(randomUUID(), 'cleanup', 'succeeded'));
    await waitFor(async () => (await countEvents(world.pg.pool, world.pg.schema)).total === 3, {
      what: 'the first process to record',
      timeoutMs: 60_000,
    });

    first.process.kill('SIGKILL');
    const killedAt = performance.now();
    expect(await first.exited).toBeNull();
    const second = run(SCRIPTS.main, env);
    children.push(second);
    // Events of several executions, so that every partition has one waiting.
    await sendExecutionEvents(
      world,
      Array.from({ length: 6 }, () => executionLife(randomUUID(), 'cleanup', 'succeeded')).flat(),
    );
    await waitFor(async () => (await countEvents(world.pg.pool, world.pg.schema)).total === 3 + 18, {
      what: 'the restarted process to record every partition',
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    const resumedMs = Math.round(performance.now() - killedAt);
    console.log(`recording resumed ${resumedMs} ms after the SIGKILL`);
    expect(resumedMs).toBeLessThan(10_000);
  });
});
