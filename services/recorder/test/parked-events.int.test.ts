import { randomUUID } from 'node:crypto';
import type { ExecutionEvent } from '@openpenpal/contracts';
import { waitFor } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { retryParkedEvents } from '../src/read-models/retry-parked.ts';
import { metricValue, startRecorder, type RunningRecorder } from './in-process.ts';
import { SCRIPTS, reap, run, type Child } from './processes.ts';
import {
  checkpointOf,
  countEvents,
  createRecorderWorld,
  executionLife,
  lastPosition,
  logger,
  parkedRows,
  sendExecutionEvents,
  withVariantFields,
  type RecorderWorld,
} from './support.ts';

const stack = inject('stack');

/** The life of an execution whose trigger carries `trigger` instead of its own fields. */
function lifeWithTrigger(trigger: Record<string, unknown>): ExecutionEvent[] {
  const life = executionLife(randomUUID(), 'cleanup', 'succeeded');
  life[0] = withVariantFields(life[0]!, trigger);
  return life;
}

describe('events a projection cannot apply', () => {
  let world: RecorderWorld;
  let running: RunningRecorder[] = [];
  const children: Child[] = [];
  beforeEach(async () => {
    world = await createRecorderWorld(stack);
    running = [];
  });
  afterEach(async () => {
    await reap(children);
    for (const recorder of running) await recorder.close();
    await world.close();
  });
  const start = async (env: Record<string, string> = {}) => {
    const recorder = await startRecorder(world, env);
    running.push(recorder);
    return recorder;
  };
  const projected = async () =>
    (await checkpointOf(world, 'projection:executions')) === (await lastPosition(world, 'execution'));

  it('parks an event it cannot apply, counts it, and goes on with the events after it', async () => {
    // An attempt no execution reaches: its place (attempt × 10 + step) does not fit the progress column.
    const impossibleAttempt = lifeWithTrigger({ attempt: 2 ** 31 - 1 });
    // Times outside any calendar PostgreSQL or a JavaScript Date can print.
    const ancient = lifeWithTrigger({ nominal_time: -1e15 });
    const farFuture = lifeWithTrigger({ nominal_time: 8.7e15 });
    const after = executionLife(randomUUID(), 'cleanup', 'succeeded');
    const events = [...impossibleAttempt, ...ancient, ...farFuture, ...after];
    const recorder = await start({ RECORDER_PROJECTOR_BATCH: '5' });
    await sendExecutionEvents(world, events);

    await waitFor(async () => (await countEvents(world.pg.pool, world.pg.schema)).total === events.length, {
      what: 'every event recorded',
      timeoutMs: 30_000,
    });
    await waitFor(projected, { what: 'the projection past the bad events', timeoutMs: 30_000 });

    const parked = await parkedRows(world);
    expect(parked).toEqual([
      expect.objectContaining({
        projection: 'executions',
        stream_id: `execution-${impossibleAttempt[0]!.execution_id}`,
        revision: '0',
        event_id: impossibleAttempt[0]!.event_id,
        event_type: 'TaskTriggered',
        error_code: '22003',
      }),
    ]);
    const rows = await world.pg.pool.query<{
      execution_id: string;
      status: string;
      nominal_time: Date | null;
    }>(`SELECT execution_id, status, nominal_time FROM ${world.names.executions}`);
    const byId = new Map(rows.rows.map((row) => [row.execution_id, row]));
    // The rest of the parked event's execution is applied; impossible times are left out, not parked.
    expect(byId.get(impossibleAttempt[0]!.execution_id)?.status).toBe('succeeded');
    expect(byId.get(ancient[0]!.execution_id)).toMatchObject({ status: 'succeeded', nominal_time: null });
    expect(byId.get(farFuture[0]!.execution_id)).toMatchObject({ status: 'succeeded', nominal_time: null });
    expect(byId.get(after[0]!.execution_id)?.status).toBe('succeeded');

    const registry = recorder.ctx.metrics.registry;
    expect(
      await metricValue(registry, 'scheduler_recorder_parked_events_total', { projection: 'executions' }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'scheduler_recorder_parked_events', { projection: 'executions' }),
    ).toBe(1);
    expect((await recorder.ops.app.inject({ url: '/readyz' })).statusCode).toBe(200);
  });

  it('retries parked events: keeps those that still fail, applies and removes those that now apply', async () => {
    const life = lifeWithTrigger({ attempt: 2 ** 31 - 1 });
    const recorder = await start();
    await sendExecutionEvents(world, life);
    await waitFor(async () => (await parkedRows(world)).length === 1, {
      what: 'the event parked',
      timeoutMs: 30_000,
    });
    await waitFor(projected, { what: 'the rest applied', timeoutMs: 30_000 });

    // Nothing changed: it is still parked, with the retry counted.
    const first = await retryParkedEvents({
      pool: world.pg.pool,
      store: world.store,
      names: world.names,
      logger,
    });
    expect(first).toEqual({ executions: { retried: 1, applied: 0 }, tasks: { retried: 0, applied: 0 } });
    expect(await parkedRows(world)).toEqual([
      expect.objectContaining({ event_id: life[0]!.event_id, error_code: '22003', retries: 1 }),
    ]);

    // An operator widens the column; the command (next to the running recorder) applies the event.
    await world.pg.pool.query(`ALTER TABLE ${world.names.executions} ALTER COLUMN progress TYPE bigint`);
    const command = run(SCRIPTS.retryParked, world.env);
    children.push(command);
    expect(await command.exited, command.output()).toBe(0);

    expect(await parkedRows(world)).toEqual([]);
    const row = await world.pg.pool.query<{ attempts: number }>(
      `SELECT attempts FROM ${world.names.executions} WHERE execution_id = $1`,
      [life[0]!.execution_id],
    );
    expect(row.rows).toEqual([{ attempts: 2 ** 31 - 1 }]);
    const registry = recorder.ctx.metrics.registry;
    expect(
      await metricValue(registry, 'scheduler_recorder_parked_events', { projection: 'executions' }),
    ).toBe(0);
    expect(
      await metricValue(registry, 'scheduler_recorder_parked_events_total', { projection: 'executions' }),
    ).toBe(1);
    // The live projection goes on after the retried event.
    const next = executionLife(randomUUID(), 'cleanup', 'succeeded');
    await sendExecutionEvents(world, next);
    await waitFor(
      async () =>
        (
          await world.pg.pool.query(`SELECT 1 FROM ${world.names.executions} WHERE execution_id = $1`, [
            next[0]!.execution_id,
          ])
        ).rowCount === 1,
      { what: 'a later execution projected', timeoutMs: 30_000 },
    );
  });
});
