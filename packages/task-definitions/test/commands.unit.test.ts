import { randomUUID } from 'node:crypto';
import { createInMemoryEventStore } from '@openpenpal/event-store';
import { describe, expect, it } from 'vitest';
import { createTaskDefinitions, taskStreamId } from '../src/index.ts';
import { T0 } from './fixtures.ts';

const actor = { actor: 'admin-1' };
const input = {
  task_id: 'cleanup',
  name: 'Cleanup',
  task_type: 'letter_cleanup',
  cron_expression: '0 3 * * *',
};

function setup() {
  const store = createInMemoryEventStore();
  return { store, tasks: createTaskDefinitions({ store, clock: { now: () => T0 } }) };
}

describe('task definition commands on the in-memory event store', () => {
  it('takes -1 as the revision of a task that does not exist yet', async () => {
    const { tasks } = setup();
    await expect(tasks.createTask(input, { ...actor, expectedRevision: -1 })).resolves.toMatchObject({
      revision: 0,
    });
    await expect(tasks.createTask(input, { ...actor, expectedRevision: -1 })).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { task_id: 'cleanup', expected: null, actual: 0 },
    });
  });

  it('refuses an expected revision that is no revision, before reading anything', async () => {
    const { store, tasks } = setup();
    for (const expectedRevision of [-2, 1.5, Number.NaN]) {
      await expect(tasks.createTask(input, { ...actor, expectedRevision })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { field: 'expected_revision' },
      });
    }
    expect(await store.readAll()).toEqual([]);
  });

  it('reports a write that came between its read and its append as a CONFLICT with task revisions', async () => {
    const { store, tasks } = setup();
    await tasks.createTask(input, actor);
    // Fault injection: another writer appends right after the command read the stream.
    const read = store.readStream.bind(store);
    store.readStream = async (...args) => {
      const events = await read(...args);
      store.readStream = read;
      const data = { task_id: 'cleanup', by: 'admin-2', at: T0, reason: null };
      await store.append(taskStreamId('cleanup'), [{ id: randomUUID(), type: 'TaskDisabled', data }]);
      return events;
    };

    await expect(tasks.updateTask('cleanup', { priority: 'high' }, actor)).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { task_id: 'cleanup', stream: 'task-cleanup', expected: 0, actual: 1 },
    });
    expect(await tasks.getTask('cleanup')).toMatchObject({ priority: 'normal', is_active: false });
  });

  it('passes the decision’s own CONFLICT on unchanged', async () => {
    const { tasks } = setup();
    await tasks.createTask(input, actor);
    const error: unknown = await tasks.createTask(input, actor).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'CONFLICT',
      message: 'task cleanup already exists',
      details: { task_id: 'cleanup', revision: 0 },
    });
  });
});
