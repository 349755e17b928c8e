import type { JsonObject } from '@openpenpal/event-store';
import { deciderSpec } from '@openpenpal/test-kit';
import { describe, expect, it } from 'vitest';
import {
  taskDecider,
  type TaskDefinitionCommand,
  type TaskDefinitionFields,
  type TaskEvent,
} from '../src/index.ts';
import { T0, created, fields, recordedTask } from './fixtures.ts';

const spec = deciderSpec(taskDecider);
const context = { taskId: 'cleanup', actor: 'admin-9', now: T0 + 100 };
const command = {
  create: (input: { fields: TaskDefinitionFields; isActive: boolean }): TaskDefinitionCommand => ({
    type: 'CreateTask',
    input,
    context,
  }),
  update: (patch: Partial<TaskDefinitionFields>): TaskDefinitionCommand => ({
    type: 'UpdateTask',
    patch,
    context,
  }),
  enable: (reason: string | null): TaskDefinitionCommand => ({ type: 'EnableTask', reason, context }),
  disable: (reason: string | null): TaskDefinitionCommand => ({ type: 'DisableTask', reason, context }),
  delete: (reason: string | null): TaskDefinitionCommand => ({ type: 'DeleteTask', reason, context }),
  run: (reason: string | null, payloadOverride: JsonObject | null): TaskDefinitionCommand => ({
    type: 'RequestTaskRun',
    input: { reason, payloadOverride },
    context,
  }),
};

const live = recordedTask([created()]);
const deleted = recordedTask([
  created(),
  { type: 'TaskDeleted', data: { task_id: 'cleanup', by: 'a', at: T0 + 1, reason: null } },
]);
const disabled = recordedTask([
  created(),
  { type: 'TaskDisabled', data: { task_id: 'cleanup', by: 'a', at: T0 + 1, reason: null } },
]);

describe('deciding commands on a task', () => {
  it('creates a task that does not exist, or that was deleted', () => {
    const input = { fields: fields(), isActive: false };
    const expected: TaskEvent[] = [
      {
        type: 'TaskCreated',
        data: { task_id: 'cleanup', definition: fields(), is_active: false, by: 'admin-9', at: T0 + 100 },
      },
    ];
    spec.given([]).when(command.create(input)).then(expected);
    spec.given(deleted).when(command.create(input)).then(expected);
  });

  it('refuses to create over a live task', () => {
    spec
      .given(live)
      .when(command.create({ fields: fields(), isActive: true }))
      .thenThrows((error) => {
        expect(error).toEqual(
          expect.objectContaining({ code: 'CONFLICT', details: { task_id: 'cleanup', revision: 0 } }),
        );
      });
  });

  it('records only the fields an update really changes', () => {
    spec
      .given(live)
      .when(command.update({ priority: 'high', name: 'Letter Status Cleanup', payload: { days_old: 7 } }))
      .then([
        {
          type: 'TaskUpdated',
          data: { task_id: 'cleanup', changes: { priority: 'high' }, by: 'admin-9', at: T0 + 100 },
        },
      ]);
  });

  it('decides nothing for an update to the same values, key order of the payload included', () => {
    spec
      .given(recordedTask([created('cleanup', { payload: { a: 1, b: { c: 2, d: 3 } } })]))
      .when(command.update({ payload: { b: { d: 3, c: 2 }, a: 1 } }))
      .thenNothingHappens();
  });

  it('checks the cross-field rules on the updated definition', () => {
    const oneShot = recordedTask([created('cleanup', { cron_expression: null, scheduled_at: T0 + 5_000 })]);
    const withStart = recordedTask([created('cleanup', { start_date: T0 + 10_000 })]);

    spec
      .given(oneShot)
      .when(command.update({ cron_expression: '0 * * * *' }))
      .thenThrows({ code: 'VALIDATION_FAILED', details: { field: 'cron_expression' } });
    spec
      .given(withStart)
      .when(command.update({ end_date: T0 }))
      .thenThrows({ details: { field: 'end_date' } });
    spec
      .given(live)
      .when(command.update({ timezone: 'Atlantis/Capital' }))
      .thenThrows({ details: { field: 'timezone' } });
    spec
      .given(oneShot)
      .when(command.update({ cron_expression: '0 * * * *', scheduled_at: null }))
      .then([
        {
          type: 'TaskUpdated',
          data: {
            task_id: 'cleanup',
            changes: { cron_expression: '0 * * * *', scheduled_at: null },
            by: 'admin-9',
            at: T0 + 100,
          },
        },
      ]);
  });

  it('refuses every change to a missing or deleted task as not found', () => {
    for (const history of [[], deleted]) {
      for (const refused of [
        command.update({ priority: 'low' }),
        command.enable(null),
        command.disable(null),
        command.delete(null),
        command.run(null, null),
      ]) {
        spec.given(history).when(refused).thenThrows({ code: 'NOT_FOUND' });
      }
    }
  });

  it('enables and disables only when that changes something', () => {
    spec.given(live).when(command.enable(null)).thenNothingHappens();
    spec.given(disabled).when(command.disable('again')).thenNothingHappens();
    spec
      .given(live)
      .when(command.disable('maintenance'))
      .then([
        {
          type: 'TaskDisabled',
          data: { task_id: 'cleanup', by: 'admin-9', at: T0 + 100, reason: 'maintenance' },
        },
      ]);
    spec
      .given(disabled)
      .when(command.enable(null))
      .then([
        { type: 'TaskEnabled', data: { task_id: 'cleanup', by: 'admin-9', at: T0 + 100, reason: null } },
      ]);
  });

  it('accepts a run request for a disabled task', () => {
    spec
      .given(disabled)
      .when(command.run('now', { x: 1 }))
      .then([
        {
          type: 'TaskRunRequested',
          data: {
            task_id: 'cleanup',
            by: 'admin-9',
            at: T0 + 100,
            reason: 'now',
            payload_override: { x: 1 },
          },
        },
      ]);
  });
});
