import { describe, expect, it } from 'vitest';
import { fireTimesBetween, nextFireTime, validateCron } from '../src/index.ts';
import { at, iso, isoList } from './support.ts';

/**
 * Transitions used below (2024):
 * - Europe/Berlin springs forward at 2024-03-31T01:00Z (02:00 CET → 03:00 CEST) and falls back at
 *   2024-10-27T01:00Z (03:00 CEST → 02:00 CET, so 02:00-02:59 is shown twice).
 * - America/New_York springs forward at 2024-03-10T07:00Z (02:00 EST → 03:00 EDT) and falls back at
 *   2024-11-03T06:00Z (02:00 EDT → 01:00 EST, so 01:00-01:59 is shown twice).
 */
function fires(expression: string, zone: string, after: string, until: string): string[] {
  return isoList(fireTimesBetween(validateCron(expression, zone), at(after), at(until), 5_000));
}

function gaps(times: readonly string[]): number[] {
  return times.slice(1).map((time, index) => Date.parse(time) - Date.parse(times[index] ?? ''));
}

describe('Europe/Berlin spring forward (2024-03-31)', () => {
  it('fires a daily 02:30 job once at 03:00 CEST, the first instant after the gap', () => {
    expect(fires('30 2 * * *', 'Europe/Berlin', '2024-03-29T12:00:00Z', '2024-04-01T12:00:00Z')).toEqual([
      '2024-03-30T01:30:00.000Z',
      '2024-03-31T01:00:00.000Z',
      '2024-04-01T00:30:00.000Z',
    ]);
  });

  it('fires the six-field form of the daily 02:30 job the same way', () => {
    const schedule = validateCron('0 30 2 * * *', 'Europe/Berlin');
    expect(iso(nextFireTime(schedule, at('2024-03-30T01:30:00Z')))).toBe('2024-03-31T01:00:00.000Z');
  });

  it('fires an hourly job once for the skipped 02:00 and 03:00 together', () => {
    expect(fires('0 * * * *', 'Europe/Berlin', '2024-03-30T23:30:00Z', '2024-03-31T02:30:00Z')).toEqual([
      '2024-03-31T00:00:00.000Z',
      '2024-03-31T01:00:00.000Z',
      '2024-03-31T02:00:00.000Z',
    ]);
  });

  it('fires an hourly job at minute 30 at the end of the gap instead of skipping 02:30', () => {
    expect(fires('30 * * * *', 'Europe/Berlin', '2024-03-31T00:00:00Z', '2024-03-31T02:00:00Z')).toEqual([
      '2024-03-31T00:30:00.000Z',
      '2024-03-31T01:00:00.000Z',
      '2024-03-31T01:30:00.000Z',
    ]);
  });

  it('fires a per-minute job on every real minute, the whole gap collapsing into 01:00Z', () => {
    expect(fires('* * * * *', 'Europe/Berlin', '2024-03-31T00:58:00Z', '2024-03-31T01:02:00Z')).toEqual([
      '2024-03-31T00:59:00.000Z',
      '2024-03-31T01:00:00.000Z',
      '2024-03-31T01:01:00.000Z',
      '2024-03-31T01:02:00.000Z',
    ]);
    const day = fires('* * * * *', 'Europe/Berlin', '2024-03-30T22:59:00Z', '2024-03-31T21:59:00Z');
    expect(day).toHaveLength(23 * 60);
    expect(day[0]).toBe('2024-03-30T23:00:00.000Z');
    expect(day.at(-1)).toBe('2024-03-31T21:59:00.000Z');
    expect(new Set(gaps(day))).toEqual(new Set([60_000]));
  });

  it('fires a per-second job on every real second across the jump', () => {
    expect(fires('* * * * * *', 'Europe/Berlin', '2024-03-31T00:59:58Z', '2024-03-31T01:00:01Z')).toEqual([
      '2024-03-31T00:59:59.000Z',
      '2024-03-31T01:00:00.000Z',
      '2024-03-31T01:00:01.000Z',
    ]);
  });
});

describe('Europe/Berlin fall back (2024-10-27)', () => {
  it('fires a daily 02:30 job once, at its first occurrence (02:30 CEST)', () => {
    expect(fires('30 2 * * *', 'Europe/Berlin', '2024-10-25T12:00:00Z', '2024-10-28T12:00:00Z')).toEqual([
      '2024-10-26T00:30:00.000Z',
      '2024-10-27T00:30:00.000Z',
      '2024-10-28T01:30:00.000Z',
    ]);
  });

  it('fires an hourly job once for 02:00 and not again when the clock shows 02:00 a second time', () => {
    expect(fires('0 * * * *', 'Europe/Berlin', '2024-10-26T22:30:00Z', '2024-10-27T03:30:00Z')).toEqual([
      '2024-10-26T23:00:00.000Z',
      '2024-10-27T00:00:00.000Z',
      '2024-10-27T02:00:00.000Z',
      '2024-10-27T03:00:00.000Z',
    ]);
  });

  it('keeps a per-minute job silent during the second pass of the repeated hour', () => {
    expect(fires('* * * * *', 'Europe/Berlin', '2024-10-27T00:57:00Z', '2024-10-27T02:02:00Z')).toEqual([
      '2024-10-27T00:58:00.000Z',
      '2024-10-27T00:59:00.000Z',
      '2024-10-27T02:00:00.000Z',
      '2024-10-27T02:01:00.000Z',
      '2024-10-27T02:02:00.000Z',
    ]);
    const day = fires('* * * * *', 'Europe/Berlin', '2024-10-26T21:59:00Z', '2024-10-27T22:59:00Z');
    expect(day).toHaveLength(24 * 60);
    expect(new Set(day).size).toBe(day.length);
    expect(day[0]).toBe('2024-10-26T22:00:00.000Z');
    expect(day.at(-1)).toBe('2024-10-27T22:59:00.000Z');
    expect(gaps(day).filter((gap) => gap !== 60_000)).toEqual([61 * 60_000]);
  });

  it('fires a */15 job through the first pass only', () => {
    expect(fires('*/15 * * * *', 'Europe/Berlin', '2024-10-27T00:30:00Z', '2024-10-27T02:15:00Z')).toEqual([
      '2024-10-27T00:45:00.000Z',
      '2024-10-27T02:00:00.000Z',
      '2024-10-27T02:15:00.000Z',
    ]);
  });

  it('fires a per-second job up to the fall back, then from 03:00 CET', () => {
    expect(fires('* * * * * *', 'Europe/Berlin', '2024-10-27T00:59:58Z', '2024-10-27T02:00:01Z')).toEqual([
      '2024-10-27T00:59:59.000Z',
      '2024-10-27T02:00:00.000Z',
      '2024-10-27T02:00:01.000Z',
    ]);
  });

  it('does not fire a wall time again when asked from inside the second pass', () => {
    const perMinute = validateCron('* * * * *', 'Europe/Berlin');
    expect(iso(nextFireTime(perMinute, at('2024-10-27T01:30:00Z')))).toBe('2024-10-27T02:00:00.000Z');
    const daily = validateCron('30 2 * * *', 'Europe/Berlin');
    expect(iso(nextFireTime(daily, at('2024-10-27T01:00:00Z')))).toBe('2024-10-28T01:30:00.000Z');
    expect(iso(nextFireTime(daily, at('2024-10-27T00:15:00Z')))).toBe('2024-10-27T00:30:00.000Z');
  });
});

describe('America/New_York spring forward (2024-03-10)', () => {
  it('fires a daily 02:30 job once at 03:00 EDT', () => {
    expect(fires('30 2 * * *', 'America/New_York', '2024-03-08T12:00:00Z', '2024-03-11T12:00:00Z')).toEqual([
      '2024-03-09T07:30:00.000Z',
      '2024-03-10T07:00:00.000Z',
      '2024-03-11T06:30:00.000Z',
    ]);
  });

  it('fires an hourly job once for the skipped 02:00 and 03:00 together', () => {
    expect(fires('0 * * * *', 'America/New_York', '2024-03-10T05:30:00Z', '2024-03-10T08:30:00Z')).toEqual([
      '2024-03-10T06:00:00.000Z',
      '2024-03-10T07:00:00.000Z',
      '2024-03-10T08:00:00.000Z',
    ]);
  });

  it('fires a per-minute job on every real minute of the 23-hour day', () => {
    expect(fires('* * * * *', 'America/New_York', '2024-03-10T06:58:00Z', '2024-03-10T07:01:00Z')).toEqual([
      '2024-03-10T06:59:00.000Z',
      '2024-03-10T07:00:00.000Z',
      '2024-03-10T07:01:00.000Z',
    ]);
    const day = fires('* * * * *', 'America/New_York', '2024-03-10T04:59:00Z', '2024-03-11T03:59:00Z');
    expect(day).toHaveLength(23 * 60);
    expect(day[0]).toBe('2024-03-10T05:00:00.000Z');
    expect(new Set(gaps(day))).toEqual(new Set([60_000]));
  });
});

describe('America/New_York fall back (2024-11-03)', () => {
  it('fires a daily 01:30 job once, at its first occurrence (01:30 EDT)', () => {
    expect(fires('30 1 * * *', 'America/New_York', '2024-11-01T12:00:00Z', '2024-11-04T12:00:00Z')).toEqual([
      '2024-11-02T05:30:00.000Z',
      '2024-11-03T05:30:00.000Z',
      '2024-11-04T06:30:00.000Z',
    ]);
  });

  it('fires a daily 02:30 job, which the fall back does not repeat, once at 02:30 EST', () => {
    expect(fires('30 2 * * *', 'America/New_York', '2024-11-01T12:00:00Z', '2024-11-04T12:00:00Z')).toEqual([
      '2024-11-02T06:30:00.000Z',
      '2024-11-03T07:30:00.000Z',
      '2024-11-04T07:30:00.000Z',
    ]);
  });

  it('fires an hourly job once for 01:00 and skips its second showing', () => {
    expect(fires('0 * * * *', 'America/New_York', '2024-11-03T03:30:00Z', '2024-11-03T08:30:00Z')).toEqual([
      '2024-11-03T04:00:00.000Z',
      '2024-11-03T05:00:00.000Z',
      '2024-11-03T07:00:00.000Z',
      '2024-11-03T08:00:00.000Z',
    ]);
  });

  it('keeps a per-minute job silent from 01:00 EST until the clock reaches 02:00 EST', () => {
    expect(fires('* * * * *', 'America/New_York', '2024-11-03T05:58:00Z', '2024-11-03T07:01:00Z')).toEqual([
      '2024-11-03T05:59:00.000Z',
      '2024-11-03T07:00:00.000Z',
      '2024-11-03T07:01:00.000Z',
    ]);
    const day = fires('* * * * *', 'America/New_York', '2024-11-03T03:59:00Z', '2024-11-04T04:59:00Z');
    expect(day).toHaveLength(24 * 60);
    expect(day[0]).toBe('2024-11-03T04:00:00.000Z');
    expect(day.at(-1)).toBe('2024-11-04T04:59:00.000Z');
  });
});

describe('other shapes of transition', () => {
  it('moves a time inside a 30-minute gap to the gap end (Australia/Lord_Howe, 2024-10-06)', () => {
    // 02:00 LHST (+10:30) jumps to 02:30 LHDT (+11:00) at 2024-10-05T15:30Z.
    expect(
      fires('15 2 * * *', 'Australia/Lord_Howe', '2024-10-04T00:00:00Z', '2024-10-07T00:00:00Z'),
    ).toEqual(['2024-10-04T15:45:00.000Z', '2024-10-05T15:30:00.000Z', '2024-10-06T15:15:00.000Z']);
  });

  it('fires once for a whole skipped day (Pacific/Apia skipped 2011-12-30)', () => {
    // 2011-12-29 24:00 at -10:00 became 2011-12-31 00:00 at +14:00, at 2011-12-30T10:00Z.
    expect(fires('0 9 * * *', 'Pacific/Apia', '2011-12-29T00:00:00Z', '2011-12-31T12:00:00Z')).toEqual([
      '2011-12-29T19:00:00.000Z',
      '2011-12-30T10:00:00.000Z',
      '2011-12-30T19:00:00.000Z',
    ]);
  });
});
