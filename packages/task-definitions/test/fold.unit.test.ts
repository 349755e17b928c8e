import { createContracts } from '@openpenpal/contracts';
import { describe, expect, it } from 'vitest';
import {
  computeNextRunAt,
  definitionMessage,
  foldTask,
  parseTaskEvent,
  runNowCommand,
  toTaskDefinitionValue,
  type TaskEvent,
  type TaskRunRequested,
} from '../src/index.ts';
import { T0, asRecorded, created, recordedTask } from './fixtures.ts';

const contracts = createContracts();

const by = { by: 'admin-2', reason: null };

describe('folding a task stream', () => {
  it('gives the created definition with its revision', () => {
    const state = foldTask(recordedTask([created('cleanup', { priority: 'high' })]));

    expect(state).toMatchObject({
      task_id: 'cleanup',
      name: 'Letter Status Cleanup',
      priority: 'high',
      is_active: true,
      created_by: 'admin-1',
      created_at: T0,
      updated_at: T0,
      deleted: false,
      revision: 0,
      definition_revision: 0,
      last_run_requested_at: null,
    });
  });

  it('applies updates, disable, enable and run requests in order', () => {
    const events: TaskEvent[] = [
      created(),
      {
        type: 'TaskUpdated',
        data: {
          task_id: 'cleanup',
          changes: { name: 'Cleanup', max_retries: 5 },
          by: 'admin-2',
          at: T0 + 10,
        },
      },
      { type: 'TaskDisabled', data: { task_id: 'cleanup', at: T0 + 20, ...by } },
      { type: 'TaskRunRequested', data: { task_id: 'cleanup', at: T0 + 30, payload_override: null, ...by } },
      { type: 'TaskEnabled', data: { task_id: 'cleanup', at: T0 + 40, ...by } },
      {
        type: 'TaskRunRequested',
        data: { task_id: 'cleanup', at: T0 + 50, payload_override: { x: 1 }, ...by },
      },
    ];
    const state = foldTask(recordedTask(events));

    expect(state).toMatchObject({
      name: 'Cleanup',
      max_retries: 5,
      cron_expression: '0 3 * * *',
      is_active: true,
      updated_by: 'admin-2',
      updated_at: T0 + 40,
      revision: 5,
      definition_revision: 4,
      last_run_requested_at: T0 + 50,
    });
  });

  it('marks a deleted task deleted and lets a TaskCreated re-create it', () => {
    const deleted = foldTask(
      recordedTask([created(), { type: 'TaskDeleted', data: { task_id: 'cleanup', at: T0 + 5, ...by } }]),
    );
    const recreated = foldTask(
      recordedTask([
        created(),
        { type: 'TaskDeleted', data: { task_id: 'cleanup', at: T0 + 5, ...by } },
        created('cleanup', { name: 'Again' }, T0 + 9),
      ]),
    );

    expect(deleted).toMatchObject({ deleted: true, deleted_at: T0 + 5, definition_revision: 1 });
    expect(recreated).toMatchObject({
      deleted: false,
      deleted_at: null,
      name: 'Again',
      created_at: T0 + 9,
      revision: 2,
    });
  });

  it('refuses a stream whose first event is not TaskCreated', () => {
    const events = recordedTask([{ type: 'TaskEnabled', data: { task_id: 'cleanup', at: T0, ...by } }]);
    expect(() => foldTask(events)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it('is pure: folding the same events twice gives equal states and leaves the events unchanged', () => {
    const events = recordedTask([
      created(),
      {
        type: 'TaskUpdated',
        data: { task_id: 'cleanup', changes: { payload: { days_old: 9 } }, by: 'a', at: T0 + 1 },
      },
    ]);
    const copy = structuredClone(events);
    expect(foldTask(events)).toEqual(foldTask(events));
    expect(events).toEqual(copy);
  });
});

describe('parsing recorded task events', () => {
  it('leaves out event types this version does not know', () => {
    const [recorded] = asRecorded('task-cleanup', [{ type: 'TaskArchived', data: { task_id: 'cleanup' } }]);
    expect(parseTaskEvent(recorded!)).toBeUndefined();
  });

  it('refuses a known event type with malformed data as a broken stream', () => {
    const [recorded] = asRecorded('task-cleanup', [
      { type: 'TaskEnabled', data: { task_id: 'cleanup', at: 'yesterday' } },
    ]);
    expect(() => parseTaskEvent(recorded!)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});

describe('mapping a definition to Kafka', () => {
  it('gives a TaskDefinition value the Avro codec accepts, with payload as JSON text', () => {
    const state = foldTask(
      recordedTask([created('cleanup', { payload: { days_old: 7, target_status: 'draft_cleanup' } })]),
    )!;
    const value = toTaskDefinitionValue(state);
    const codec = contracts.codec('TaskDefinition');

    expect(codec.decode(codec.encode(value))).toEqual(value);
    expect(JSON.parse(value.payload)).toEqual({ days_old: 7, target_status: 'draft_cleanup' });
    expect(value.revision).toBe(0);
  });

  it('gives a tombstone for a deleted task', () => {
    const state = foldTask(
      recordedTask([created(), { type: 'TaskDeleted', data: { task_id: 'cleanup', at: T0 + 5, ...by } }]),
    )!;
    expect(definitionMessage(state)).toEqual({ key: 'cleanup', value: null });
  });

  it('turns a run request into a run_now command named by the event id', () => {
    const event: TaskRunRequested = {
      type: 'TaskRunRequested',
      data: {
        task_id: 'cleanup',
        by: 'admin-3',
        at: T0,
        reason: 'backfill',
        payload_override: { days_old: 1 },
      },
    };
    const command = runNowCommand('0f6c1f4e-8f59-4c2a-9a57-3f1f6a3d2b10', event);
    const codec = contracts.codec('TaskCommand');

    expect(codec.decode(codec.encode(command))).toEqual({
      command_id: '0f6c1f4e-8f59-4c2a-9a57-3f1f6a3d2b10',
      command: 'run_now',
      task_id: 'cleanup',
      requested_by: 'admin-3',
      requested_at: T0,
      reason: 'backfill',
      payload_override: '{"days_old":1}',
    });
  });
});

describe('the next run of a task', () => {
  const now = Date.parse('2026-12-01T02:30:00Z');
  const task = (overrides: Partial<Parameters<typeof computeNextRunAt>[0]> = {}) => ({
    cron_expression: '0 3 * * *',
    timezone: 'UTC',
    scheduled_at: null,
    start_date: null,
    end_date: null,
    max_runs: null,
    is_active: true,
    ...overrides,
  });

  it('is the next cron time in the task zone, within its limits', () => {
    expect(computeNextRunAt(task(), { now, runCount: 0 })).toBe(Date.parse('2026-12-01T03:00:00Z'));
    expect(computeNextRunAt(task({ timezone: 'Asia/Shanghai' }), { now, runCount: 0 })).toBe(
      Date.parse('2026-12-01T19:00:00Z'),
    );
    expect(
      computeNextRunAt(task({ start_date: Date.parse('2026-12-05T00:00:00Z') }), { now, runCount: 0 }),
    ).toBe(Date.parse('2026-12-05T03:00:00Z'));
  });

  it('is none for an inactive or deleted task, after max_runs or past end_date', () => {
    expect(computeNextRunAt(task({ is_active: false }), { now, runCount: 0 })).toBeNull();
    expect(computeNextRunAt({ ...task(), deleted: true }, { now, runCount: 0 })).toBeNull();
    expect(computeNextRunAt(task({ max_runs: 3 }), { now, runCount: 3 })).toBeNull();
    expect(
      computeNextRunAt(task({ end_date: Date.parse('2026-12-01T02:59:00Z') }), { now, runCount: 0 }),
    ).toBeNull();
  });

  it('is the one-shot time while it lies ahead, and none for a task without a schedule', () => {
    const at = Date.parse('2026-12-24T00:00:00Z');
    expect(computeNextRunAt(task({ cron_expression: null, scheduled_at: at }), { now, runCount: 0 })).toBe(
      at,
    );
    expect(
      computeNextRunAt(task({ cron_expression: null, scheduled_at: now - 1 }), { now, runCount: 0 }),
    ).toBeNull();
    expect(computeNextRunAt(task({ cron_expression: null }), { now, runCount: 0 })).toBeNull();
  });
});
