import { createPostgresEventStore, type PostgresEventStore } from '@openpenpal/event-store';
import { createPgTestContext, type PgTestContext } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  DEFAULT_TASKS,
  createTaskDefinitions,
  seedDefaultTasks,
  taskStreamId,
  type TaskDefinitions,
} from '../src/index.ts';
import { T0 } from './fixtures.ts';

const stack = inject('stack');

describe('task definition commands on the PostgreSQL event store', () => {
  let ctx: PgTestContext;
  let store: PostgresEventStore;
  let tasks: TaskDefinitions;
  let now = T0;
  const clock = { now: () => now };
  const actor = { actor: 'admin-1' };

  beforeEach(async () => {
    ctx = await createPgTestContext(stack);
    store = createPostgresEventStore({ pool: ctx.pool, schema: ctx.schema });
    await store.migrate();
    tasks = createTaskDefinitions({ store, clock });
    now = T0;
  });
  afterEach(async () => {
    await store.close();
    await ctx.close();
  });

  const create = (taskId = 'cleanup') =>
    tasks.createTask(
      { task_id: taskId, name: 'Cleanup', task_type: 'letter_cleanup', cron_expression: '0 3 * * *' },
      actor,
    );

  it('writes each change as an event of stream task-<id> and reads the fold back', async () => {
    await create();
    now += 1000;
    const updated = await tasks.updateTask('cleanup', { priority: 'high' }, { actor: 'admin-2' });
    await tasks.disableTask('cleanup', { actor: 'admin-2', reason: 'maintenance' });

    const stored = await store.readStream(taskStreamId('cleanup'));
    expect(stored.map((event) => event.type)).toEqual(['TaskCreated', 'TaskUpdated', 'TaskDisabled']);
    expect(stored[1]!.data).toEqual({
      task_id: 'cleanup',
      changes: { priority: 'high' },
      by: 'admin-2',
      at: T0 + 1000,
    });
    expect(updated).toMatchObject({
      revision: 1,
      changed: true,
      task: { priority: 'high', updated_by: 'admin-2' },
    });
    expect(await tasks.getTask('cleanup')).toMatchObject({ priority: 'high', is_active: false, revision: 2 });
  });

  it('answers a change that changes nothing without writing', async () => {
    await create();
    const again = await tasks.enableTask('cleanup', actor);
    const same = await tasks.updateTask('cleanup', { name: 'Cleanup' }, actor);

    expect(again).toMatchObject({ changed: false, revision: 0, eventIds: [] });
    expect(same.changed).toBe(false);
    expect(await store.readStream(taskStreamId('cleanup'))).toHaveLength(1);
  });

  it('lets one of two concurrent updates win and refuses the other as a conflict', async () => {
    await create();
    const outcomes = await Promise.allSettled([
      tasks.updateTask('cleanup', { priority: 'high' }, actor),
      tasks.updateTask('cleanup', { priority: 'low' }, actor),
      tasks.updateTask('cleanup', { max_retries: 1 }, actor),
    ]);

    const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    for (const outcome of rejected)
      expect(outcome.reason).toMatchObject({ code: 'CONFLICT', details: { task_id: 'cleanup' } });
    const fulfilled = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
    expect(await store.readStream(taskStreamId('cleanup'))).toHaveLength(1 + fulfilled);
  });

  it('refuses a write against a revision the caller has not seen', async () => {
    await create();
    await tasks.updateTask('cleanup', { priority: 'high' }, actor);

    await expect(
      tasks.updateTask('cleanup', { priority: 'low' }, { ...actor, expectedRevision: 0 }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { expected: 0, actual: 1 },
    });
    await expect(
      tasks.updateTask('cleanup', { priority: 'low' }, { ...actor, expectedRevision: 1 }),
    ).resolves.toMatchObject({
      revision: 2,
    });
  });

  it('records a retried command once and answers it as the first time', async () => {
    const first = await tasks.createTask(
      { task_id: 'once', name: 'Once', task_type: 'daily_report' },
      { ...actor, commandId: 'req-1' },
    );
    const retried = await tasks.createTask(
      { task_id: 'once', name: 'Once', task_type: 'daily_report' },
      { ...actor, commandId: 'req-1' },
    );
    const run = await tasks.requestRun('once', { ...actor, commandId: 'req-2' });
    const runAgain = await tasks.requestRun('once', { ...actor, commandId: 'req-2' });

    expect(retried.eventIds).toEqual(first.eventIds);
    expect(runAgain.eventIds).toEqual(run.eventIds);
    expect(runAgain.revision).toBe(1);
    expect((await store.readStream(taskStreamId('once'))).map((event) => event.type)).toEqual([
      'TaskCreated',
      'TaskRunRequested',
    ]);
  });

  it('refuses changes to unknown and deleted tasks, and a second create of a live one', async () => {
    await expect(tasks.updateTask('ghost', { priority: 'high' }, actor)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await create();
    await expect(create()).rejects.toMatchObject({ code: 'CONFLICT' });
    await tasks.deleteTask('cleanup', { ...actor, reason: 'obsolete' });

    await expect(tasks.enableTask('cleanup', actor)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      details: { deleted: true },
    });
    await expect(tasks.requestRun('cleanup', actor)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await tasks.getTask('cleanup')).toBeUndefined();
    expect(await tasks.getTask('cleanup', { includeDeleted: true })).toMatchObject({ deleted: true });
    const recreated = await create();
    expect(recreated).toMatchObject({ revision: 2, task: { deleted: false } });
  });

  it('validates before reading or writing anything', async () => {
    await expect(
      tasks.createTask({ name: 'x', task_type: 'letter_cleanup', cron_expression: 'nope' }, actor),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'cron_expression' },
    });
    await expect(
      tasks.createTask({ name: 'x', task_type: 'letter_cleanup' }, { actor: ' ' }),
    ).rejects.toMatchObject({
      details: { field: 'actor' },
    });
    await expect(tasks.requestRun('cleanup', { ...actor, payloadOverride: [1] })).rejects.toMatchObject({
      details: { field: 'payload_override' },
    });
    expect(await store.readAll()).toEqual([]);
  });

  it('seeds the five platform tasks once, also when seeded concurrently', async () => {
    const results = await Promise.all([
      seedDefaultTasks({ store, clock }, actor),
      seedDefaultTasks({ store, clock }, actor),
    ]);
    const again = await seedDefaultTasks({ store, clock }, actor);

    // A seed that reads after the other one appended reports `exists`; one that raced it reports
    // `created` for the same event id, which the store kept once.
    const outcomes = results.flat().map((result) => result.outcome);
    expect(outcomes.every((outcome) => outcome === 'created' || outcome === 'exists')).toBe(true);
    expect(outcomes.filter((outcome) => outcome === 'created').length).toBeGreaterThanOrEqual(5);
    expect(again.map((result) => result.outcome)).toEqual(['exists', 'exists', 'exists', 'exists', 'exists']);
    for (const task of DEFAULT_TASKS) {
      expect(await store.readStream(taskStreamId(task.task_id))).toHaveLength(1);
      expect(await tasks.getTask(task.task_id)).toMatchObject({ ...task.definition, is_active: true });
    }
  });

  it('leaves a deleted default task deleted unless asked to restore it', async () => {
    await seedDefaultTasks({ store, clock }, actor);
    await tasks.deleteTask('letter_cleanup', actor);

    const kept = await seedDefaultTasks({ store, clock }, actor);
    const restored = await seedDefaultTasks({ store, clock }, { ...actor, restoreDeleted: true });

    expect(kept.find((result) => result.task_id === 'letter_cleanup')?.outcome).toBe('deleted');
    expect(restored.find((result) => result.task_id === 'letter_cleanup')).toMatchObject({
      outcome: 'restored',
      revision: 2,
    });
    expect(await tasks.getTask('letter_cleanup')).toMatchObject({
      cron_expression: '0 3 * * *',
      deleted: false,
    });
  });
});
