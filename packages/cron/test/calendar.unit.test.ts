import { describe, expect, it } from 'vitest';
import { fireTimesBetween, iterateFireTimes, nextFireTime, validateCron } from '../src/index.ts';
import { at, iso, isoList } from './support.ts';

function fires(expression: string, zone: string, after: string, until: string, limit = 500): string[] {
  return isoList(fireTimesBetween(validateCron(expression, zone), at(after), at(until), limit));
}

describe('month ends and leap days', () => {
  it('skips months without a 31st for 0 0 31 * *', () => {
    expect(fires('0 0 31 * *', 'UTC', '2024-01-01T00:00:00Z', '2024-12-31T23:59:59Z')).toEqual([
      '2024-01-31T00:00:00.000Z',
      '2024-03-31T00:00:00.000Z',
      '2024-05-31T00:00:00.000Z',
      '2024-07-31T00:00:00.000Z',
      '2024-08-31T00:00:00.000Z',
      '2024-10-31T00:00:00.000Z',
      '2024-12-31T00:00:00.000Z',
    ]);
  });

  it('skips February for 0 0 30 * *', () => {
    expect(fires('0 0 30 * *', 'UTC', '2025-01-01T00:00:00Z', '2025-04-01T00:00:00Z')).toEqual([
      '2025-01-30T00:00:00.000Z',
      '2025-03-30T00:00:00.000Z',
    ]);
  });

  it('lands 0 0 29 2 * on leap years only, skipping 2100', () => {
    expect(fires('0 0 29 2 *', 'UTC', '2023-01-01T00:00:00Z', '2033-01-01T00:00:00Z')).toEqual([
      '2024-02-29T00:00:00.000Z',
      '2028-02-29T00:00:00.000Z',
      '2032-02-29T00:00:00.000Z',
    ]);
    expect(iso(nextFireTime(validateCron('0 0 29 2 *', 'UTC'), at('2096-03-01T00:00:00Z')))).toBe(
      '2104-02-29T00:00:00.000Z',
    );
  });

  it('reports no next time when the next match lies beyond year 9999', () => {
    expect(nextFireTime(validateCron('0 0 29 2 *', 'UTC'), at('9996-03-01T00:00:00Z'))).toBeUndefined();
  });

  it('fires L on the last day of each month, 28 or 29 in February', () => {
    expect(fires('0 0 L * *', 'UTC', '2024-01-15T00:00:00Z', '2024-04-15T00:00:00Z')).toEqual([
      '2024-01-31T00:00:00.000Z',
      '2024-02-29T00:00:00.000Z',
      '2024-03-31T00:00:00.000Z',
    ]);
    expect(fires('0 0 L 2 *', 'UTC', '2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z')).toEqual([
      '2025-02-28T00:00:00.000Z',
    ]);
  });

  it('fires LW on the last weekday and 5#L on the last Friday of the month', () => {
    // 2024-08-31 is a Saturday, so the last weekday of August is Friday the 30th.
    expect(fires('0 12 LW * *', 'UTC', '2024-08-01T00:00:00Z', '2024-10-01T00:00:00Z')).toEqual([
      '2024-08-30T12:00:00.000Z',
      '2024-09-30T12:00:00.000Z',
    ]);
    expect(fires('0 18 * * 5#L', 'UTC', '2024-08-01T00:00:00Z', '2024-10-01T00:00:00Z')).toEqual([
      '2024-08-30T18:00:00.000Z',
      '2024-09-27T18:00:00.000Z',
    ]);
  });

  it('matches day-of-month OR day-of-week, and both with the + modifier', () => {
    // September 2024: Fridays are the 6th, 13th, 20th and 27th.
    expect(fires('0 0 13 * 5', 'UTC', '2024-09-01T00:00:00Z', '2024-09-30T00:00:00Z')).toEqual([
      '2024-09-06T00:00:00.000Z',
      '2024-09-13T00:00:00.000Z',
      '2024-09-20T00:00:00.000Z',
      '2024-09-27T00:00:00.000Z',
    ]);
    expect(fires('0 0 13 * +5', 'UTC', '2024-01-01T00:00:00Z', '2025-01-01T00:00:00Z')).toEqual([
      '2024-09-13T00:00:00.000Z',
      '2024-12-13T00:00:00.000Z',
    ]);
  });

  it('counts the month end in the schedule zone, not in UTC', () => {
    // Midnight on the 31st in Shanghai (UTC+8) is 16:00Z on the 30th.
    expect(fires('0 0 31 * *', 'Asia/Shanghai', '2024-01-01T00:00:00Z', '2024-06-01T00:00:00Z')).toEqual([
      '2024-01-30T16:00:00.000Z',
      '2024-03-30T16:00:00.000Z',
      '2024-05-30T16:00:00.000Z',
    ]);
  });
});

describe('a zone without daylight saving (Asia/Shanghai)', () => {
  it('fires a daily 02:30 job at 18:30Z the day before, on the dates Europe and America change', () => {
    expect(fires('30 2 * * *', 'Asia/Shanghai', '2024-03-09T00:00:00Z', '2024-03-11T00:00:00Z')).toEqual([
      '2024-03-09T18:30:00.000Z',
      '2024-03-10T18:30:00.000Z',
    ]);
    expect(fires('30 2 * * *', 'Asia/Shanghai', '2024-10-26T00:00:00Z', '2024-10-28T00:00:00Z')).toEqual([
      '2024-10-26T18:30:00.000Z',
      '2024-10-27T18:30:00.000Z',
    ]);
  });

  it('fires an hourly job 8784 times, exactly an hour apart, in the leap year 2024', () => {
    const schedule = validateCron('0 * * * *', 'Asia/Shanghai');
    const times = [...iterateFireTimes(schedule, at('2023-12-31T15:59:59Z'), at('2024-12-31T15:59:59Z'))];
    expect(times).toHaveLength(366 * 24);
    expect(iso(times[0])).toBe('2023-12-31T16:00:00.000Z');
    expect(iso(times.at(-1))).toBe('2024-12-31T15:00:00.000Z');
    expect(times.every((time, index) => index === 0 || time - (times[index - 1] ?? 0) === 3_600_000)).toBe(
      true,
    );
  });

  it('fires the 20:00 daily inspiration at 12:00Z', () => {
    expect(fires('0 20 * * *', 'Asia/Shanghai', '2024-05-01T00:00:00Z', '2024-05-03T00:00:00Z')).toEqual([
      '2024-05-01T12:00:00.000Z',
      '2024-05-02T12:00:00.000Z',
    ]);
  });
});

describe('nextFireTime and fireTimesBetween', () => {
  it('returns the next time strictly after the previous one, also when it is not a nominal time', () => {
    const schedule = validateCron('*/10 * * * *', 'UTC');
    expect(iso(nextFireTime(schedule, at('2024-05-01T10:10:00Z')))).toBe('2024-05-01T10:20:00.000Z');
    expect(iso(nextFireTime(schedule, at('2024-05-01T10:09:59.999Z')))).toBe('2024-05-01T10:10:00.000Z');
    expect(iso(nextFireTime(schedule, at('2024-05-01T10:10:00.001Z')))).toBe('2024-05-01T10:20:00.000Z');
  });

  it('includes a time equal to untilInclusive and stops at the limit', () => {
    expect(fires('0 * * * *', 'UTC', '2024-05-01T10:00:00Z', '2024-05-01T12:00:00Z')).toEqual([
      '2024-05-01T11:00:00.000Z',
      '2024-05-01T12:00:00.000Z',
    ]);
    expect(fires('* * * * * *', 'UTC', '2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z', 3)).toEqual([
      '2024-05-01T10:00:01.000Z',
      '2024-05-01T10:00:02.000Z',
      '2024-05-01T10:00:03.000Z',
    ]);
  });

  it('returns nothing for an empty or inverted window', () => {
    expect(fires('0 * * * *', 'UTC', '2024-05-01T10:00:00Z', '2024-05-01T10:59:59Z')).toEqual([]);
    expect(fires('0 * * * *', 'UTC', '2024-05-01T12:00:00Z', '2024-05-01T10:00:00Z')).toEqual([]);
  });

  it('fires descriptors in the schedule zone', () => {
    expect(iso(nextFireTime(validateCron('@daily', 'Asia/Shanghai'), at('2024-05-01T00:00:00Z')))).toBe(
      '2024-05-01T16:00:00.000Z',
    );
    expect(iso(nextFireTime(validateCron('@weekly', 'America/New_York'), at('2024-05-01T00:00:00Z')))).toBe(
      '2024-05-05T04:00:00.000Z',
    );
  });
});
