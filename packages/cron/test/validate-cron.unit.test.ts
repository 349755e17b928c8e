import { describe, expect, it } from 'vitest';
import {
  CRON_DESCRIPTORS,
  DEFAULT_TIMEZONE,
  fireTimesBetween,
  nextFireTime,
  validateCron,
} from '../src/index.ts';
import type { CronSchedule } from '../src/index.ts';
import { at, caught, iso, isoList } from './support.ts';

describe('validateCron accepts', () => {
  it('accepts a five-field expression and fires on whole minutes', () => {
    const schedule = validateCron('*/20 * * * *', 'UTC');
    expect(schedule).toEqual({ expression: '*/20 * * * *', timezone: 'UTC', format: 'five_field' });
    expect(
      isoList(fireTimesBetween(schedule, at('2024-05-01T10:05:00Z'), at('2024-05-01T11:00:00Z'), 10)),
    ).toEqual(['2024-05-01T10:20:00.000Z', '2024-05-01T10:40:00.000Z', '2024-05-01T11:00:00.000Z']);
  });

  it('reads six fields as seconds first', () => {
    const schedule = validateCron('15,45 * * * * *', 'UTC');
    expect(schedule.format).toBe('six_field');
    expect(
      isoList(fireTimesBetween(schedule, at('2024-05-01T10:00:00Z'), at('2024-05-01T10:01:30Z'), 10)),
    ).toEqual(['2024-05-01T10:00:15.000Z', '2024-05-01T10:00:45.000Z', '2024-05-01T10:01:15.000Z']);
  });

  it('accepts month and weekday names and trims surrounding whitespace', () => {
    const schedule = validateCron('  0 9 * JAN-MAR MON  ', 'UTC');
    expect(schedule.expression).toBe('0 9 * JAN-MAR MON');
    // The last Monday of March 2024 is the 25th; the next Monday in January to March is 2025-01-06.
    expect(iso(nextFireTime(schedule, at('2024-03-26T00:00:00Z')))).toBe('2025-01-06T09:00:00.000Z');
  });

  it.each([
    ['@yearly', '2025-01-01T00:00:00.000Z'],
    ['@annually', '2025-01-01T00:00:00.000Z'],
    ['@monthly', '2024-06-01T00:00:00.000Z'],
    ['@weekly', '2024-05-19T00:00:00.000Z'],
    ['@daily', '2024-05-16T00:00:00.000Z'],
    ['@midnight', '2024-05-16T00:00:00.000Z'],
    ['@hourly', '2024-05-15T11:00:00.000Z'],
  ])('accepts the descriptor %s and fires next at %s after 2024-05-15T10:30Z', (descriptor, expected) => {
    const schedule = validateCron(descriptor, 'UTC');
    expect(schedule.format).toBe('descriptor');
    expect(iso(nextFireTime(schedule, at('2024-05-15T10:30:00Z')))).toBe(expected);
  });

  it('accepts descriptors in any letter case', () => {
    expect(validateCron('@Daily', 'UTC').format).toBe('descriptor');
  });

  it('lists exactly the descriptors it accepts', () => {
    expect(Object.keys(CRON_DESCRIPTORS).sort()).toEqual(
      ['@annually', '@daily', '@hourly', '@midnight', '@monthly', '@weekly', '@yearly'].sort(),
    );
  });

  it('uses the platform default zone Asia/Shanghai when no zone is given', () => {
    const schedule = validateCron('0 20 * * *');
    expect(DEFAULT_TIMEZONE).toBe('Asia/Shanghai');
    expect(schedule.timezone).toBe('Asia/Shanghai');
    expect(iso(nextFireTime(schedule, at('2024-05-15T00:00:00Z')))).toBe('2024-05-15T12:00:00.000Z');
  });

  it('does not depend on the process time zone', () => {
    const original = process.env.TZ;
    const results: (string | undefined)[] = [];
    try {
      for (const tz of ['UTC', 'America/New_York', 'Asia/Kolkata']) {
        process.env.TZ = tz;
        const schedule = validateCron('30 2 * * *', 'Europe/Berlin');
        results.push(iso(nextFireTime(schedule, at('2024-03-30T12:00:00Z'))));
      }
    } finally {
      if (original === undefined) delete process.env.TZ;
      else process.env.TZ = original;
    }
    expect(results).toEqual(Array(3).fill('2024-03-31T01:00:00.000Z'));
  });

  it('spells the zone the way Intl does', () => {
    expect(validateCron('0 0 * * *', 'europe/berlin').timezone).toBe('Europe/Berlin');
  });
});

describe('validateCron rejects', () => {
  it.each([
    ['', 'expression is empty'],
    ['   ', 'expression is empty'],
    ['* * * *', 'got 4 fields'],
    ['0 0 0 * * * 2025', 'got 7 fields'],
    ['2030-01-23T00:00:00', 'got 1 field'],
    ['@reboot', '@reboot is not supported'],
    ['@every 5m', 'unknown descriptor @every 5m'],
    ['@fortnightly', 'unknown descriptor @fortnightly'],
    ['60 * * * *', 'minute value 60 is outside 0-59'],
    ['* 24 * * *', 'hour value 24 is outside 0-23'],
    ['0 0 32 * *', 'day-of-month value 32 is outside 1-31'],
    ['0 0 0 * *', 'day-of-month value 0 is outside 1-31'],
    ['0 0 * 13 *', 'month value 13 is outside 1-12'],
    ['0 0 * * 8', 'day-of-week value 8 is outside 0-7'],
    ['61 * * * * *', 'second value 61 is outside 0-59'],
    ['*/0 * * * *', 'illegal stepping'],
    ['5/5 * * * *', 'stepping with numeric prefix'],
    ['0 0 5-1 * *', 'From value is larger than to value'],
    ['a b c d e', 'illegal characters'],
    ['0 0 30 2 *', 'never fires'],
    ['0 0 31 4 *', 'never fires'],
  ])('rejects %j naming cron_expression and the problem (%s)', (expression, problem) => {
    const error = caught(() => validateCron(expression, 'UTC'));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.details['field']).toBe('cron_expression');
    expect(error.details['problem']).toContain(problem);
    expect(error.message).toContain(problem);
  });

  it('rejects a value that is not a string', () => {
    expect(caught(() => validateCron(42, 'UTC')).details).toEqual({
      field: 'cron_expression',
      problem: 'must be a string',
    });
    expect(caught(() => validateCron('* * * * *', null)).details).toEqual({
      field: 'timezone',
      problem: 'must be a string',
    });
  });

  it.each([
    ['', 'time zone is empty'],
    ['Mars/Olympus_Mons', 'not an IANA time zone name'],
    ['+08:00', 'is a UTC offset'],
    ['-05:00', 'is a UTC offset'],
    ['0800', 'is a UTC offset'],
  ])('rejects the zone %j naming timezone and the problem (%s)', (timezone, problem) => {
    const error = caught(() => validateCron('0 0 * * *', timezone));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details['field']).toBe('timezone');
    expect(error.details['problem']).toContain(problem);
  });

  it('refuses to compute with a schedule that validateCron did not make', () => {
    const forged: CronSchedule = { expression: '* * * * *', timezone: 'UTC', format: 'five_field' };
    expect(caught(() => nextFireTime(forged, at('2024-01-01T00:00:00Z'))).code).toBe('INTERNAL');
  });

  it('rejects previous nominal times that are not finite or out of range', () => {
    const schedule = validateCron('* * * * *', 'UTC');
    expect(caught(() => nextFireTime(schedule, Number.NaN)).details['field']).toBe('after_nominal');
    expect(caught(() => nextFireTime(schedule, Number.POSITIVE_INFINITY)).code).toBe('VALIDATION_FAILED');
    expect(caught(() => nextFireTime(schedule, at('1899-12-31T23:59:59Z'))).code).toBe('VALIDATION_FAILED');
    expect(caught(() => fireTimesBetween(schedule, 0, at('2024-01-01T00:00:00Z'), 0)).details).toEqual({
      field: 'limit',
      problem: '0 is not a positive integer',
    });
  });
});
