import { isSchedulerError, type SchedulerError } from '@openpenpal/errors';
import { describe, expect, it } from 'vitest';
import type { TaskCommand, TaskDefinition } from '@openpenpal/contracts';
import { FIELD_DEFAULTS, LIMITS, parseCreateInput, parseUpdateInput } from '../src/index.ts';
import { TIME_RANGE, checkCommandValue, checkDefinitionValue } from '../src/definitions/validation.ts';

const minimal = { name: 'Cleanup', task_type: 'letter_cleanup' };

function failure(fn: () => unknown): SchedulerError {
  try {
    fn();
  } catch (error) {
    if (isSchedulerError(error)) return error;
    throw error;
  }
  throw new Error('expected a validation failure');
}

function problemFields(fn: () => unknown): string[] {
  const error = failure(fn);
  expect(error.code).toBe('VALIDATION_FAILED');
  return (error.details.problems as { field: string }[]).map((problem) => problem.field);
}

describe('validating a new task', () => {
  it('fills every field the request leaves out with the domain default', () => {
    const { taskId, isActive, fields } = parseCreateInput(minimal);

    expect(taskId).toBeUndefined();
    expect(isActive).toBe(true);
    expect(fields).toEqual({ ...FIELD_DEFAULTS, ...minimal });
    expect(fields.timezone).toBe('Asia/Shanghai');
  });

  it('trims the cron expression, spells the zone as Intl does and accepts ISO dates', () => {
    const { fields } = parseCreateInput({
      ...minimal,
      cron_expression: '  0 3 * * *  ',
      timezone: 'europe/berlin',
      start_date: '2026-12-01T08:00:00+08:00',
      end_date: Date.parse('2027-01-01T00:00:00Z'),
      payload: '{"days_old":7}',
    });

    expect(fields).toMatchObject({
      cron_expression: '0 3 * * *',
      timezone: 'Europe/Berlin',
      start_date: Date.parse('2026-12-01T00:00:00Z'),
      payload: { days_old: 7 },
    });
  });

  it.each([
    [{ name: '   ' }, 'name'],
    [{ name: 'x'.repeat(LIMITS.nameLength + 1) }, 'name'],
    [{ task_type: 'unknown' }, 'task_type'],
    [{ priority: 'urgent' }, 'priority'],
    [{ cron_expression: '61 * * * *' }, 'cron_expression'],
    [{ cron_expression: '@reboot' }, 'cron_expression'],
    [{ cron_expression: '0 0 30 2 *' }, 'cron_expression'],
    [{ timezone: 'Mars/Olympus' }, 'timezone'],
    [{ timezone: '+08:00' }, 'timezone'],
    [{ cron_expression: '0 * * * *', scheduled_at: 1_800_000_000_000 }, 'cron_expression'],
    [{ scheduled_at: 'tomorrow' }, 'scheduled_at'],
    [
      { start_date: Date.parse('2026-12-02T00:00:00Z'), end_date: Date.parse('2026-12-01T00:00:00Z') },
      'end_date',
    ],
    [{ scheduled_at: -1e15 }, 'scheduled_at'],
    [{ scheduled_at: 8.7e15 }, 'scheduled_at'],
    [{ scheduled_at: TIME_RANGE.min - 1 }, 'scheduled_at'],
    [{ scheduled_at: '1999-12-31T23:59:59Z' }, 'scheduled_at'],
    [{ start_date: 2_000 }, 'start_date'],
    [{ end_date: TIME_RANGE.max + 1 }, 'end_date'],
    [{ timeout_secs: -5 }, 'timeout_secs'],
    [{ max_runs: 0 }, 'max_runs'],
    [{ timeout_secs: 0 }, 'timeout_secs'],
    [{ timeout_secs: 1.5 }, 'timeout_secs'],
    [{ max_retries: LIMITS.maxRetries + 1 }, 'max_retries'],
    [{ misfire_policy: 'sometimes' }, 'misfire_policy'],
    [{ misfire_grace_ms: -1 }, 'misfire_grace_ms'],
    [{ misfire_fire_all_cap: 0 }, 'misfire_fire_all_cap'],
    [{ concurrency_policy: 'queue' }, 'concurrency_policy'],
    [{ payload: [1, 2] }, 'payload'],
    [{ payload: '[1, 2]' }, 'payload'],
    [{ payload: { blob: 'x'.repeat(LIMITS.payloadBytes) } }, 'payload'],
    [{ task_id: '-starts-with-dash' }, 'task_id'],
    [{ task_id: 'has space' }, 'task_id'],
    [{ task_id: '' }, 'task_id'],
    [{ task_id: 'tab\tinside' }, 'task_id'],
    [{ is_active: 'yes' }, 'is_active'],
    [{ cron: '* * * * *' }, 'cron'],
  ])('names the field of %j', (override, field) => {
    expect(problemFields(() => parseCreateInput({ ...minimal, ...override }))).toEqual([field]);
  });

  it('reports every bad field at once, the first one in details.field', () => {
    const error = failure(() => parseCreateInput({ name: '', task_type: 'nope', max_retries: -1 }));

    expect(error.details.field).toBe('name');
    expect((error.details.problems as { field: string }[]).map((p) => p.field).sort()).toEqual([
      'max_retries',
      'name',
      'task_type',
    ]);
    expect(error.message).toContain('task_type');
  });

  it('checks the zone of a task without a cron expression', () => {
    expect(problemFields(() => parseCreateInput({ ...minimal, timezone: 'Nowhere/City' }))).toEqual([
      'timezone',
    ]);
    expect(
      parseCreateInput({ ...minimal, scheduled_at: 1_800_000_000_000, timezone: 'UTC' }).fields.scheduled_at,
    ).toBe(1_800_000_000_000);
  });

  it('refuses input that is not an object', () => {
    expect(failure(() => parseCreateInput(null)).code).toBe('VALIDATION_FAILED');
    expect(failure(() => parseCreateInput('task')).code).toBe('VALIDATION_FAILED');
  });
});

describe('validating an update', () => {
  it('keeps only the fields given', () => {
    expect(parseUpdateInput({ priority: 'high', description: null })).toEqual({
      priority: 'high',
      description: null,
    });
  });

  it('refuses fields an update cannot change, saying what to do instead', () => {
    const error = failure(() => parseUpdateInput({ is_active: false, task_id: 'other' }));
    const problems = error.details.problems as { field: string; problem: string }[];

    expect(problems).toEqual(
      expect.arrayContaining([
        { field: 'is_active', problem: 'use enable or disable' },
        { field: 'task_id', problem: 'a task id never changes' },
      ]),
    );
  });

  it('checks each given field', () => {
    expect(problemFields(() => parseUpdateInput({ timeout_secs: -5 }))).toEqual(['timeout_secs']);
  });
});

const T = Date.parse('2026-12-01T00:00:00Z');

/** A TaskDefinition value as the relay writes it. */
function definitionValue(overrides: Partial<TaskDefinition> = {}): TaskDefinition {
  return {
    task_id: 'letter-cleanup',
    name: 'Letter cleanup',
    description: null,
    task_type: 'letter_cleanup',
    priority: 'normal',
    cron_expression: '0 3 * * *',
    timezone: 'Asia/Shanghai',
    scheduled_at: null,
    payload: '{"days_old":7}',
    max_retries: 3,
    timeout_secs: 300,
    is_active: true,
    start_date: null,
    end_date: null,
    max_runs: null,
    misfire_policy: 'fire_once',
    misfire_grace_ms: 60_000,
    misfire_fire_all_cap: 100,
    concurrency_policy: 'forbid',
    revision: 0,
    created_by: 'admin-1',
    created_at: T,
    updated_at: T,
    ...overrides,
  };
}

function commandValue(overrides: Partial<TaskCommand> = {}): TaskCommand {
  return {
    command_id: '6f1c2a52-3b1e-4c55-9a43-5d0b8d1e2f10',
    command: 'run_now',
    task_id: 'letter-cleanup',
    requested_by: 'admin-1',
    requested_at: T,
    reason: null,
    payload_override: null,
    ...overrides,
  };
}

describe('validating a definition from the task-definitions topic', () => {
  it('accepts what the relay writes for a task the API accepted', () => {
    expect(() => checkDefinitionValue(definitionValue())).not.toThrow();
    expect(() =>
      checkDefinitionValue(definitionValue({ cron_expression: null, scheduled_at: TIME_RANGE.max })),
    ).not.toThrow();
  });

  it.each([
    [{ cron_expression: null, scheduled_at: -1e15 }, 'scheduled_at'],
    [{ cron_expression: null, scheduled_at: 8.7e15 }, 'scheduled_at'],
    [{ start_date: -1 }, 'start_date'],
    [{ end_date: 8.7e15 }, 'end_date'],
    [{ timeout_secs: -5 }, 'timeout_secs'],
    [{ timeout_secs: 0 }, 'timeout_secs'],
    [{ max_retries: -1 }, 'max_retries'],
    [{ max_retries: LIMITS.maxRetries + 1 }, 'max_retries'],
    [{ max_runs: 0 }, 'max_runs'],
    [{ misfire_grace_ms: -1 }, 'misfire_grace_ms'],
    [{ misfire_fire_all_cap: 0 }, 'misfire_fire_all_cap'],
    [{ revision: -1 }, 'revision'],
    [{ revision: 1.5 }, 'revision'],
    [{ task_id: '' }, 'task_id'],
    [{ task_id: 'nul\u0000inside' }, 'task_id'],
    [{ name: ' ' }, 'name'],
    [{ task_type: 'unknown' as const }, 'task_type'],
    [{ payload: '[1]' }, 'payload'],
    [{ payload: '{' }, 'payload'],
    [{ created_by: '' }, 'created_by'],
    [{ created_by: 'bell\u0007' }, 'created_by'],
    [{ created_at: 0 }, 'created_at'],
    [{ updated_at: 8.7e15 }, 'updated_at'],
    [{ cron_expression: '61 * * * *' }, 'cron_expression'],
    [{ timezone: 'Mars/Olympus' }, 'timezone'],
    [{ scheduled_at: T }, 'cron_expression'],
    [{ start_date: T + 1, end_date: T }, 'end_date'],
  ])('names the field of %j', (override, field) => {
    expect(problemFields(() => checkDefinitionValue(definitionValue(override)))).toEqual([field]);
  });

  it('checks the schedule with the function it is given', () => {
    const seen: string[] = [];
    checkDefinitionValue(definitionValue(), {
      schedule: (expression, zone) => seen.push(`${expression} ${zone}`),
    });
    expect(seen).toEqual(['0 3 * * * Asia/Shanghai']);
  });
});

describe('validating a command from the task-commands topic', () => {
  it('accepts a run_now, a pause and a resume as the API writes them', () => {
    expect(() => checkCommandValue(commandValue({ payload_override: '{"scope":"test"}' }))).not.toThrow();
    expect(() => checkCommandValue(commandValue({ command: 'pause', task_id: null }))).not.toThrow();
    expect(() => checkCommandValue(commandValue({ command: 'resume', task_id: null }))).not.toThrow();
  });

  it.each([
    [{ requested_at: -1e15 }, 'requested_at'],
    [{ requested_at: 8.7e15 }, 'requested_at'],
    [{ command_id: '' }, 'command_id'],
    [{ command_id: 'line\nbreak' }, 'command_id'],
    [{ task_id: null }, 'task_id'],
    [{ task_id: '' }, 'task_id'],
    [{ requested_by: '  ' }, 'requested_by'],
    [{ payload_override: '[1, 2]' }, 'payload_override'],
    [{ reason: 'x'.repeat(LIMITS.descriptionLength + 1) }, 'reason'],
  ])('names the field of %j', (override, field) => {
    expect(problemFields(() => checkCommandValue(commandValue(override)))).toEqual([field]);
  });
});
