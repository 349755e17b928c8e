import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FIRE_ALL_CAP,
  DEFAULT_MISFIRE_GRACE_MS,
  DEFAULT_MISFIRE_POLICY,
  planMisfires,
  validateCron,
  type MisfirePlan,
  type PlanMisfiresInput,
} from '../src/index.ts';
import { at, caught, iso, isoList } from './support.ts';

const hourly = validateCron('0 * * * *', 'UTC');

/** The plan with instants as ISO strings, so expectations read as times. */
function plan(input: Omit<PlanMisfiresInput, 'schedule'> & { schedule?: PlanMisfiresInput['schedule'] }) {
  const result: MisfirePlan = planMisfires({ schedule: hourly, ...input });
  return {
    fire: isoList(result.fire),
    missed: result.missed.map(({ nominal, reason }) => `${iso(nominal) ?? ''} ${reason}`),
    next: iso(result.next),
  };
}

// The ticker last handled 10:00Z and comes back at 14:59Z: 11:00-14:00 were missed, and even the
// most recent (59 minutes old) is beyond a 60 s grace.
const outage = { lastNominal: at('2024-05-01T10:00:00Z'), now: at('2024-05-01T14:59:00Z'), graceMs: 60_000 };

describe('planMisfires after an outage', () => {
  it('fire_once fires the latest missed time and records the rest as superseded', () => {
    expect(plan({ ...outage, policy: 'fire_once' })).toEqual({
      fire: ['2024-05-01T14:00:00.000Z'],
      missed: [
        '2024-05-01T11:00:00.000Z superseded',
        '2024-05-01T12:00:00.000Z superseded',
        '2024-05-01T13:00:00.000Z superseded',
      ],
      next: '2024-05-01T15:00:00.000Z',
    });
  });

  it('fire_once lets an on-time run be the catch-up run, superseding every misfire', () => {
    expect(plan({ ...outage, now: at('2024-05-01T15:00:30Z'), policy: 'fire_once' })).toEqual({
      fire: ['2024-05-01T15:00:00.000Z'],
      missed: [
        '2024-05-01T11:00:00.000Z superseded',
        '2024-05-01T12:00:00.000Z superseded',
        '2024-05-01T13:00:00.000Z superseded',
        '2024-05-01T14:00:00.000Z superseded',
      ],
      next: '2024-05-01T16:00:00.000Z',
    });
  });

  it('skip fires no missed time and records each as misfire_skipped', () => {
    expect(plan({ ...outage, policy: 'skip' })).toEqual({
      fire: [],
      missed: [
        '2024-05-01T11:00:00.000Z misfire_skipped',
        '2024-05-01T12:00:00.000Z misfire_skipped',
        '2024-05-01T13:00:00.000Z misfire_skipped',
        '2024-05-01T14:00:00.000Z misfire_skipped',
      ],
      next: '2024-05-01T15:00:00.000Z',
    });
  });

  it('skip still fires times inside the grace window', () => {
    expect(plan({ ...outage, now: at('2024-05-01T15:00:30Z'), policy: 'skip' }).fire).toEqual([
      '2024-05-01T15:00:00.000Z',
    ]);
    expect(plan({ ...outage, graceMs: 2 * 3_600_000, policy: 'skip' })).toEqual({
      fire: ['2024-05-01T13:00:00.000Z', '2024-05-01T14:00:00.000Z'],
      missed: ['2024-05-01T11:00:00.000Z misfire_skipped', '2024-05-01T12:00:00.000Z misfire_skipped'],
      next: '2024-05-01T15:00:00.000Z',
    });
  });

  it('fire_all fires every missed time when they fit under the cap', () => {
    expect(plan({ ...outage, policy: 'fire_all', fireAllCap: 10 })).toEqual({
      fire: [
        '2024-05-01T11:00:00.000Z',
        '2024-05-01T12:00:00.000Z',
        '2024-05-01T13:00:00.000Z',
        '2024-05-01T14:00:00.000Z',
      ],
      missed: [],
      next: '2024-05-01T15:00:00.000Z',
    });
  });

  it('fire_all fires the latest times up to the cap and records older ones as cap_exceeded', () => {
    expect(plan({ ...outage, now: at('2024-05-01T15:00:30Z'), policy: 'fire_all', fireAllCap: 2 })).toEqual({
      fire: ['2024-05-01T13:00:00.000Z', '2024-05-01T14:00:00.000Z', '2024-05-01T15:00:00.000Z'],
      missed: ['2024-05-01T11:00:00.000Z cap_exceeded', '2024-05-01T12:00:00.000Z cap_exceeded'],
      next: '2024-05-01T16:00:00.000Z',
    });
  });

  it.each(['fire_once', 'skip', 'fire_all'] as const)(
    '%s fires an on-time run normally with nothing missed',
    (policy) => {
      expect(
        plan({ lastNominal: at('2024-05-01T14:00:00Z'), now: at('2024-05-01T15:00:05Z'), policy }),
      ).toEqual({
        fire: ['2024-05-01T15:00:00.000Z'],
        missed: [],
        next: '2024-05-01T16:00:00.000Z',
      });
    },
  );

  it('plans nothing before the next nominal time, and nothing when now is behind the checkpoint', () => {
    const empty = { fire: [], missed: [], next: '2024-05-01T15:00:00.000Z' };
    expect(plan({ lastNominal: at('2024-05-01T14:00:00Z'), now: at('2024-05-01T14:30:00Z') })).toEqual(empty);
    expect(plan({ lastNominal: at('2024-05-01T14:00:00Z'), now: at('2024-05-01T13:00:00Z') })).toEqual(empty);
  });

  it('defaults to fire_once with a 60 s grace, a nominal time exactly 60 s old still on time', () => {
    expect(DEFAULT_MISFIRE_POLICY).toBe('fire_once');
    expect(DEFAULT_MISFIRE_GRACE_MS).toBe(60_000);
    expect(DEFAULT_FIRE_ALL_CAP).toBe(100);
    const base = { lastNominal: at('2024-05-01T13:00:00Z') };
    expect(plan({ ...base, now: at('2024-05-01T15:01:00Z') })).toMatchObject({
      fire: ['2024-05-01T15:00:00.000Z'],
      missed: ['2024-05-01T14:00:00.000Z superseded'],
    });
    expect(plan({ ...base, now: at('2024-05-01T15:01:00Z'), policy: 'skip' }).fire).toEqual([
      '2024-05-01T15:00:00.000Z',
    ]);
    const justLate = planMisfires({
      schedule: hourly,
      ...base,
      now: at('2024-05-01T15:01:00.001Z'),
      policy: 'skip',
    });
    expect(justLate.fire).toEqual([]);
    expect(justLate.missed).toEqual([
      { nominal: at('2024-05-01T14:00:00Z'), reason: 'misfire_skipped' },
      { nominal: at('2024-05-01T15:00:00Z'), reason: 'misfire_skipped' },
    ]);
  });

  it('accounts for every second of a day-long outage of a per-second job', () => {
    const perSecond = validateCron('* * * * * *', 'Europe/Berlin');
    const result = planMisfires({
      schedule: perSecond,
      lastNominal: at('2024-05-01T00:00:00Z'),
      now: at('2024-05-02T00:00:00Z'),
      policy: 'skip',
      graceMs: 60_000,
    });
    expect(result.fire).toHaveLength(61);
    expect(iso(result.fire[0])).toBe('2024-05-01T23:59:00.000Z');
    expect(result.missed).toHaveLength(86_400 - 61);
    expect(iso(result.missed[0]?.nominal)).toBe('2024-05-01T00:00:01.000Z');
    expect(iso(result.missed.at(-1)?.nominal)).toBe('2024-05-01T23:58:59.000Z');
    expect(iso(result.next)).toBe('2024-05-02T00:00:01.000Z');
  });

  it('plans across a fall-back without a wall time twice (Europe/Berlin, 2024-10-27)', () => {
    expect(
      plan({
        schedule: validateCron('*/30 * * * *', 'Europe/Berlin'),
        lastNominal: at('2024-10-26T23:30:00Z'),
        now: at('2024-10-27T02:40:00Z'),
        policy: 'fire_all',
      }),
    ).toEqual({
      fire: [
        '2024-10-27T00:00:00.000Z',
        '2024-10-27T00:30:00.000Z',
        '2024-10-27T02:00:00.000Z',
        '2024-10-27T02:30:00.000Z',
      ],
      missed: [],
      next: '2024-10-27T03:00:00.000Z',
    });
  });
  it('gives as next the first wall time not yet shown when it comes back during the repeated hour', () => {
    // Back at 01:30Z, 02:30 CET on the second pass: 02:31-02:59 fired on the first pass already.
    expect(
      plan({
        schedule: validateCron('* * * * *', 'Europe/Berlin'),
        lastNominal: at('2024-10-27T00:59:00Z'),
        now: at('2024-10-27T01:30:00Z'),
      }),
    ).toEqual({ fire: [], missed: [], next: '2024-10-27T02:00:00.000Z' });
  });
});

describe('planMisfires with run limits', () => {
  it('ignores nominal times before start_date and after end_date', () => {
    expect(
      plan({
        ...outage,
        policy: 'skip',
        limits: { startDate: at('2024-05-01T11:30:00Z'), endDate: at('2024-05-01T13:00:00Z') },
      }),
    ).toEqual({
      fire: [],
      missed: ['2024-05-01T12:00:00.000Z misfire_skipped', '2024-05-01T13:00:00.000Z misfire_skipped'],
      next: undefined,
    });
  });

  it('fires no more than the runs max_runs has left, oldest first, then reports exhaustion', () => {
    expect(plan({ ...outage, policy: 'fire_all', limits: { maxRuns: 5 }, runCount: 3 })).toEqual({
      fire: ['2024-05-01T11:00:00.000Z', '2024-05-01T12:00:00.000Z'],
      missed: [],
      next: undefined,
    });
    expect(plan({ ...outage, limits: { maxRuns: 5 }, runCount: 5 })).toEqual({
      fire: [],
      missed: [],
      next: undefined,
    });
  });
});

describe('planMisfires input checks', () => {
  it.each([
    [{ policy: 'fire_twice' as never }, 'misfire_policy'],
    [{ graceMs: -1 }, 'misfire_grace'],
    [{ fireAllCap: 0 }, 'fire_all_cap'],
    [{ runCount: -1 }, 'run_count'],
    [{ now: Number.NaN }, 'now'],
    [{ lastNominal: Number.POSITIVE_INFINITY }, 'last_nominal'],
    [{ limits: { maxRuns: 1.5 } }, 'max_runs'],
  ])('rejects %j naming the field %s', (override, field) => {
    const error = caught(() => planMisfires({ schedule: hourly, ...outage, ...override }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details['field']).toBe(field);
  });
});
