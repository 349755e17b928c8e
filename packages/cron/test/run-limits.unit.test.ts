import { describe, expect, it } from 'vitest';
import { checkRunLimits, nextAllowedFireTime, validateCron, validateRunLimits } from '../src/index.ts';
import { at, caught, iso } from './support.ts';

const daily = validateCron('0 3 * * *', 'Asia/Shanghai');
// 03:00 in Shanghai is 19:00Z the day before.
const limits = { startDate: at('2024-05-02T19:00:00Z'), endDate: at('2024-05-05T19:00:00Z'), maxRuns: 3 };

describe('checkRunLimits', () => {
  it('allows a nominal time inside [start_date, end_date], both ends inclusive', () => {
    expect(checkRunLimits(limits, at('2024-05-02T19:00:00Z'), 0)).toEqual({ allowed: true });
    expect(checkRunLimits(limits, at('2024-05-05T19:00:00Z'), 2)).toEqual({ allowed: true });
  });

  it('refuses a time before start_date without calling the schedule exhausted', () => {
    expect(checkRunLimits(limits, at('2024-05-01T19:00:00Z'), 0)).toEqual({
      allowed: false,
      reason: 'before_start',
      exhausted: false,
    });
  });

  it('refuses a time after end_date, and any time once max_runs is reached, as exhausted', () => {
    expect(checkRunLimits(limits, at('2024-05-05T19:00:01Z'), 0)).toEqual({
      allowed: false,
      reason: 'after_end',
      exhausted: true,
    });
    expect(checkRunLimits(limits, at('2024-05-03T19:00:00Z'), 3)).toEqual({
      allowed: false,
      reason: 'max_runs_reached',
      exhausted: true,
    });
  });

  it('allows everything when no limit is set', () => {
    expect(checkRunLimits({}, at('1999-01-01T00:00:00Z'), 1_000_000)).toEqual({ allowed: true });
  });
});

describe('nextAllowedFireTime', () => {
  it('starts at start_date when the previous nominal time is earlier', () => {
    expect(iso(nextAllowedFireTime(daily, limits, at('2024-04-01T00:00:00Z'), 0))).toBe(
      '2024-05-02T19:00:00.000Z',
    );
  });

  it('walks the schedule inside the window', () => {
    expect(iso(nextAllowedFireTime(daily, limits, at('2024-05-02T19:00:00Z'), 1))).toBe(
      '2024-05-03T19:00:00.000Z',
    );
  });

  it('reports exhaustion after end_date and after max_runs', () => {
    expect(nextAllowedFireTime(daily, limits, at('2024-05-05T19:00:00Z'), 2)).toBeUndefined();
    expect(nextAllowedFireTime(daily, limits, at('2024-05-03T19:00:00Z'), 3)).toBeUndefined();
  });
});

describe('validateRunLimits', () => {
  it('accepts absent and consistent limits', () => {
    expect(validateRunLimits({})).toEqual({ startDate: undefined, endDate: undefined, maxRuns: undefined });
    expect(validateRunLimits(limits)).toEqual(limits);
  });

  it.each([
    [{ startDate: Number.NaN }, 'start_date', 'not a finite epoch-millisecond number'],
    [{ endDate: Number.POSITIVE_INFINITY }, 'end_date', 'not a finite epoch-millisecond number'],
    [
      { startDate: at('2024-05-02T00:00:00Z'), endDate: at('2024-05-01T00:00:00Z') },
      'end_date',
      'end_date is before start_date',
    ],
    [{ maxRuns: 0 }, 'max_runs', '0 is not a positive integer'],
    [{ maxRuns: 2.5 }, 'max_runs', '2.5 is not a positive integer'],
  ])('rejects %j naming %s', (input, field, problem) => {
    const error = caught(() => validateRunLimits(input));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details).toEqual({ field, problem });
  });

  it('rejects a negative run count', () => {
    expect(caught(() => checkRunLimits(limits, at('2024-05-03T19:00:00Z'), -1)).details['field']).toBe(
      'run_count',
    );
  });
});
