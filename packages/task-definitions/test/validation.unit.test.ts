import { isSchedulerError, type SchedulerError } from '@openpenpal/errors';
import { describe, expect, it } from 'vitest';
import { FIELD_DEFAULTS, LIMITS, parseCreateInput, parseUpdateInput } from '../src/index.ts';

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
    [{ start_date: 2_000, end_date: 1_000 }, 'end_date'],
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
