import { TASK_TYPES, triggerTopicName } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import { describe, expect, it } from 'vitest';
import { compileDefinition, nextDue, planDue, triggerTopicFor } from '../src/definitions/task-spec.ts';
import { createFireHeap } from '../src/planning/fire-heap.ts';
import { planTask } from '../src/planning/task-plan.ts';
import { at, definition, TOPIC_PREFIX } from './support.ts';

function problem(fn: () => unknown): { field: unknown; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SchedulerError);
    const e = error as SchedulerError;
    expect(e.code).toBe('VALIDATION_FAILED');
    return { field: e.details.field, message: e.message };
  }
  throw new Error('expected a validation error');
}

describe('compiling a task definition', () => {
  it('names the same trigger topics as the catalogue with the default prefix', () => {
    for (const taskType of TASK_TYPES)
      expect(triggerTopicFor(TOPIC_PREFIX, taskType)).toBe(triggerTopicName(taskType));
  });

  it('accepts five fields, six fields and descriptors, validated by the cron package', () => {
    for (const cron of ['*/10 * * * *', '30 0 3 * * *', '@hourly', '@DAILY']) {
      expect(compileDefinition(definition('t', { cron_expression: cron }), TOPIC_PREFIX).timing.kind).toBe(
        'cron',
      );
    }
  });

  it('rejects a bad expression, zone, limits, payload or an unknown task type, naming the field', () => {
    const fieldOf = (override: Parameters<typeof definition>[1]) =>
      problem(() => compileDefinition(definition('t', override), TOPIC_PREFIX)).field;
    expect(fieldOf({ cron_expression: '60 * * * *' })).toBe('cron_expression');
    expect(fieldOf({ timezone: '+08:00' })).toBe('timezone');
    expect(
      fieldOf({ cron_expression: null, scheduled_at: at('2026-03-01T10:00:00Z'), timezone: 'Nowhere/City' }),
    ).toBe('timezone');
    expect(fieldOf({ scheduled_at: at('2026-03-01T10:00:00Z') })).toBe('cron_expression');
    expect(fieldOf({ start_date: at('2026-03-02T00:00:00Z'), end_date: at('2026-03-01T00:00:00Z') })).toBe(
      'end_date',
    );
    expect(fieldOf({ max_runs: 0 })).toBe('max_runs');
    expect(fieldOf({ payload: '[1]' })).toBe('payload');
    expect(fieldOf({ payload: '{' })).toBe('payload');
    expect(fieldOf({ task_type: 'unknown' })).toBe('task_type');
    expect(fieldOf({ misfire_fire_all_cap: 0 })).toBe('misfire_fire_all_cap');
    expect(problem(() => compileDefinition(definition('t', { max_runs: 0 }), TOPIC_PREFIX)).message).toMatch(
      /^task "t": /,
    );
  });

  it('treats a definition with neither cron nor scheduled_at as run-now only', () => {
    const spec = compileDefinition(definition('t', { cron_expression: null }), TOPIC_PREFIX);
    expect(spec.timing.kind).toBe('manual');
    expect(nextDue(spec, 0, 0)).toBeUndefined();
  });
});

describe('one-shot tasks', () => {
  const once = (extra = {}) =>
    compileDefinition(
      definition('once', { cron_expression: null, scheduled_at: at('2026-03-01T10:00:00Z'), ...extra }),
      TOPIC_PREFIX,
    );

  it('are due once at their time and never again', () => {
    expect(nextDue(once(), at('2026-03-01T09:00:00Z'), 0)).toBe(at('2026-03-01T10:00:00Z'));
    expect(nextDue(once(), at('2026-03-01T10:00:00Z'), 0)).toBeUndefined();
  });

  it('fire late under fire_once and are recorded missed under skip', () => {
    const late = at('2026-03-01T10:05:00Z');
    expect(planDue(once(), 0, late, 0)).toEqual({
      fire: [at('2026-03-01T10:00:00Z')],
      missed: [],
      next: undefined,
    });
    expect(planDue(once({ misfire_policy: 'skip' }), 0, late, 0).missed).toEqual([
      { nominal: at('2026-03-01T10:00:00Z'), reason: 'misfire_skipped' },
    ]);
  });

  it('do not fire when max_runs is used up or the time is after end_date', () => {
    expect(nextDue(once({ max_runs: 1 }), 0, 1)).toBeUndefined();
    expect(nextDue(once({ end_date: at('2026-03-01T09:00:00Z') }), 0, 0)).toBeUndefined();
  });
});

describe('planning one due task', () => {
  const spec = compileDefinition(definition('p', { cron_expression: '* * * * *' }), TOPIC_PREFIX);
  const checkpoint = { lastNominal: at('2026-03-01T10:00:00Z'), runCount: 0, off: false };

  it('fires the due time alone on the steady path', () => {
    const plan = planTask({
      spec,
      checkpoint,
      cursor: checkpoint.lastNominal,
      dueAt: at('2026-03-01T10:01:00Z'),
      now: at('2026-03-01T10:01:00.004Z'),
      pause: { paused: false },
    });
    expect(plan).toEqual({
      fires: [at('2026-03-01T10:01:00Z')],
      misses: [],
      lastNominal: at('2026-03-01T10:01:00Z'),
      cursor: at('2026-03-01T10:01:00Z'),
    });
  });

  it('labels misses inside a pause window as paused, and keeps the policy reason outside it', () => {
    const plan = planTask({
      spec,
      checkpoint,
      cursor: checkpoint.lastNominal,
      dueAt: at('2026-03-01T10:01:00Z'),
      now: at('2026-03-01T10:05:30Z'),
      pause: { paused: false, since: at('2026-03-01T10:02:30Z'), resumedAt: at('2026-03-01T10:05:20Z') },
    });
    expect(plan.fires).toEqual([at('2026-03-01T10:05:00Z')]);
    expect(plan.misses.map((m) => m.reason)).toEqual(['superseded', 'superseded', 'paused', 'paused']);
  });

  it('while paused under skip, looks again when a pending time runs out of grace', () => {
    const skip = compileDefinition(
      definition('p', { cron_expression: '0 * * * *', misfire_policy: 'skip', misfire_grace_ms: 60_000 }),
      TOPIC_PREFIX,
    );
    const plan = planTask({
      spec: skip,
      checkpoint,
      cursor: checkpoint.lastNominal,
      dueAt: at('2026-03-01T11:00:00Z'),
      now: at('2026-03-01T11:00:00Z'),
      pause: { paused: true, since: at('2026-03-01T10:30:00Z') },
    });
    expect(plan).toMatchObject({
      fires: [],
      misses: [],
      lastNominal: checkpoint.lastNominal,
      recheckAt: at('2026-03-01T11:01:00.001Z'),
    });
  });
});

describe('the fire heap', () => {
  it('pops entries in time order whatever the push order', () => {
    const heap = createFireHeap();
    const times = [50, 10, 40, 10, 30, 20, 60, 0];
    times.forEach((t, i) => heap.push({ at: t, taskId: `t${i}`, version: 0 }));
    const popped: number[] = [];
    for (let e = heap.pop(); e; e = heap.pop()) popped.push(e.at);
    expect(popped).toEqual([...times].sort((a, b) => a - b));
    expect(heap.size()).toBe(0);
  });
});
