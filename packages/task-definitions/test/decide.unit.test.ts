import { isSchedulerError, type SchedulerError } from '@openpenpal/errors';
import { describe, expect, it } from 'vitest';
import {
  decideCreate,
  decideDelete,
  decideDisable,
  decideEnable,
  decideRunRequest,
  decideUpdate,
  foldTask,
  type TaskEvent,
} from '../src/index.ts';
import { T0, created, fields, recordedTask } from './fixtures.ts';

function thrown(fn: () => unknown): SchedulerError {
  try {
    fn();
  } catch (error) {
    if (isSchedulerError(error)) return error;
    throw error;
  }
  throw new Error('expected the decision to throw');
}

const ctx = { taskId: 'cleanup', actor: 'admin-9', now: T0 + 100 };
const live = foldTask(recordedTask([created()]));
const deleted = foldTask(
  recordedTask([
    created(),
    { type: 'TaskDeleted', data: { task_id: 'cleanup', by: 'a', at: T0 + 1, reason: null } },
  ]),
);
const disabled = foldTask(
  recordedTask([
    created(),
    { type: 'TaskDisabled', data: { task_id: 'cleanup', by: 'a', at: T0 + 1, reason: null } },
  ]),
);

describe('deciding commands on a task', () => {
  it('creates a task that does not exist, or that was deleted', () => {
    const input = { fields: fields(), isActive: false };
    const expected: TaskEvent[] = [
      {
        type: 'TaskCreated',
        data: { task_id: 'cleanup', definition: fields(), is_active: false, by: 'admin-9', at: T0 + 100 },
      },
    ];
    expect(decideCreate(undefined, input, ctx)).toEqual(expected);
    expect(decideCreate(deleted, input, ctx)).toEqual(expected);
  });

  it('refuses to create over a live task', () => {
    expect(() => decideCreate(live, { fields: fields(), isActive: true }, ctx)).toThrow(
      expect.objectContaining({ code: 'CONFLICT', details: { task_id: 'cleanup', revision: 0 } }),
    );
  });

  it('records only the fields an update really changes', () => {
    const events = decideUpdate(
      live,
      { priority: 'high', name: 'Letter Status Cleanup', payload: { days_old: 7 } },
      ctx,
    );
    expect(events).toEqual([
      {
        type: 'TaskUpdated',
        data: { task_id: 'cleanup', changes: { priority: 'high' }, by: 'admin-9', at: T0 + 100 },
      },
    ]);
  });

  it('decides nothing for an update to the same values, key order of the payload included', () => {
    const state = foldTask(recordedTask([created('cleanup', { payload: { a: 1, b: { c: 2, d: 3 } } })]));
    expect(decideUpdate(state, { payload: { b: { d: 3, c: 2 }, a: 1 } }, ctx)).toEqual([]);
  });

  it('checks the cross-field rules on the updated definition', () => {
    const oneShot = foldTask(
      recordedTask([created('cleanup', { cron_expression: null, scheduled_at: T0 + 5_000 })]),
    );
    const withStart = foldTask(recordedTask([created('cleanup', { start_date: T0 + 10_000 })]));

    expect(thrown(() => decideUpdate(oneShot, { cron_expression: '0 * * * *' }, ctx))).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'cron_expression' },
    });
    expect(thrown(() => decideUpdate(withStart, { end_date: T0 }, ctx))).toMatchObject({
      details: { field: 'end_date' },
    });
    expect(thrown(() => decideUpdate(live, { timezone: 'Atlantis/Capital' }, ctx))).toMatchObject({
      details: { field: 'timezone' },
    });
    expect(decideUpdate(oneShot, { cron_expression: '0 * * * *', scheduled_at: null }, ctx)).toHaveLength(1);
  });

  it('refuses every change to a missing or deleted task as not found', () => {
    for (const state of [undefined, deleted]) {
      expect(thrown(() => decideUpdate(state, { priority: 'low' }, ctx)).code).toBe('NOT_FOUND');
      expect(thrown(() => decideEnable(state, null, ctx)).code).toBe('NOT_FOUND');
      expect(thrown(() => decideDisable(state, null, ctx)).code).toBe('NOT_FOUND');
      expect(thrown(() => decideDelete(state, null, ctx)).code).toBe('NOT_FOUND');
      expect(thrown(() => decideRunRequest(state, { reason: null, payloadOverride: null }, ctx)).code).toBe(
        'NOT_FOUND',
      );
    }
  });

  it('enables and disables only when that changes something', () => {
    expect(decideEnable(live, null, ctx)).toEqual([]);
    expect(decideDisable(disabled, 'again', ctx)).toEqual([]);
    expect(decideDisable(live, 'maintenance', ctx)).toEqual([
      {
        type: 'TaskDisabled',
        data: { task_id: 'cleanup', by: 'admin-9', at: T0 + 100, reason: 'maintenance' },
      },
    ]);
    expect(decideEnable(disabled, null, ctx).map((event) => event.type)).toEqual(['TaskEnabled']);
  });

  it('accepts a run request for a disabled task', () => {
    expect(decideRunRequest(disabled, { reason: 'now', payloadOverride: { x: 1 } }, ctx)).toEqual([
      {
        type: 'TaskRunRequested',
        data: { task_id: 'cleanup', by: 'admin-9', at: T0 + 100, reason: 'now', payload_override: { x: 1 } },
      },
    ]);
  });
});
