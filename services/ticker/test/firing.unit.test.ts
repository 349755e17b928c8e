import { describe, expect, it } from 'vitest';
import { cronExecutionId, executionEventId } from '../src/firing/ids.ts';
import { at, createHarness, definition, eventsOf, firesOf, iso } from './support.ts';

describe('the leader firing cron tasks', () => {
  it('fires a per-minute task once per nominal minute, with ids derived from task and time', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('sweep', { cron_expression: '* * * * *', payload: '{"days_old":7}' }));
    await h.lead(7);
    await h.clock.advanceTo(at('2026-03-01T10:03:10Z'));

    expect(firesOf(h.kafka.triggers)).toEqual([
      '2026-03-01T10:01:00.000Z',
      '2026-03-01T10:02:00.000Z',
      '2026-03-01T10:03:00.000Z',
    ]);
    const first = h.triggers[0]!;
    expect(first).toMatchObject({
      execution_id: cronExecutionId('sweep', at('2026-03-01T10:01:00Z')),
      task_id: 'sweep',
      task_type: 'letter_cleanup',
      nominal_time: at('2026-03-01T10:01:00Z'),
      fire_time: at('2026-03-01T10:01:00Z'),
      attempt: 1,
      payload: '{"days_old":7}',
      source: 'cron',
      fencing_token: 7,
      timezone: 'UTC',
    });
    expect(h.kafka.triggers[0]!.topic).toBe('scheduler.trigger.letter-cleanup');
    const triggered = eventsOf(h.kafka.events, 'TaskTriggered');
    expect(triggered.map((e) => e.event.execution_id)).toEqual(h.triggers.map((t) => t.execution_id));
    expect(triggered[0]!.event.event_id).toBe(executionEventId(first.execution_id, 'triggered'));
    expect(triggered[0]!.value).toMatchObject({
      fencing_token: 7,
      trigger_topic: 'scheduler.trigger.letter-cleanup',
    });
  });

  it('groups every task due at the same instant into one send, grouped by trigger topic', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    for (const id of ['a1', 'a2', 'a3']) h.define(definition(id, { cron_expression: '0 * * * * *' }));
    for (const id of ['b1', 'b2'])
      h.define(definition(id, { cron_expression: '0 * * * * *', task_type: 'daily_report' }));
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:01:05Z'));

    expect(h.kafka.requests).toEqual([
      [
        { topic: 'scheduler.trigger.letter-cleanup', count: 3 },
        { topic: 'scheduler.trigger.daily-report', count: 2 },
      ],
    ]);
    expect(new Set(h.triggers.map((t) => t.fire_time))).toEqual(new Set([at('2026-03-01T10:01:00Z')]));
  });

  it('fires tasks with different schedules in nominal time order', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:00Z') });
    h.define(definition('every-20s', { cron_expression: '*/20 * * * * *' }));
    h.define(definition('every-30s', { cron_expression: '*/30 * * * * *' }));
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:01:00Z'));

    // Sends follow nominal time; tasks due at the same instant share one send, in any order.
    const sent = h.triggers.map((t) => `${iso(t.nominal_time).slice(11, 19)} ${t.task_id}`);
    const times = sent.map((s) => s.slice(0, 8));
    expect(times).toEqual([...times].sort());
    expect([...sent].sort()).toEqual([
      '10:00:20 every-20s',
      '10:00:30 every-30s',
      '10:00:40 every-20s',
      '10:01:00 every-20s',
      '10:01:00 every-30s',
    ]);
  });

  it('fires a task in its own zone across daylight-saving changes, through the cron package', async () => {
    const h = createHarness({ start: at('2024-03-29T12:00:00Z') });
    h.define(definition('berlin', { cron_expression: '30 2 * * *', timezone: 'Europe/Berlin' }));
    h.define(definition('new-york', { cron_expression: '30 1 * * *', timezone: 'America/New_York' }));
    await h.lead();
    await h.clock.advanceTo(at('2024-04-01T12:00:00Z'));
    // Spring forward in Berlin: 02:30 does not exist on 2024-03-31; it fires once at the jump (03:00 CEST).
    expect(firesOf(h.kafka.triggers, 'berlin')).toEqual([
      '2024-03-30T01:30:00.000Z',
      '2024-03-31T01:00:00.000Z',
      '2024-04-01T00:30:00.000Z',
    ]);

    await h.clock.advanceTo(at('2024-10-26T12:00:00Z'));
    const before = h.triggers.length;
    await h.clock.advanceTo(at('2024-10-28T12:00:00Z'));
    // Fall back in Berlin on 2024-10-27: 02:30 happens twice and fires once, at the first (CEST).
    expect(firesOf(h.kafka.triggers.slice(before), 'berlin')).toEqual([
      '2024-10-27T00:30:00.000Z',
      '2024-10-28T01:30:00.000Z',
    ]);

    await h.clock.advanceTo(at('2024-11-02T12:00:00Z'));
    const beforeNy = h.triggers.length;
    await h.clock.advanceTo(at('2024-11-04T12:00:00Z'));
    // Fall back in New York on 2024-11-03: 01:30 EDT only, not 01:30 EST an hour later.
    expect(firesOf(h.kafka.triggers.slice(beforeNy), 'new-york')).toEqual([
      '2024-11-03T05:30:00.000Z',
      '2024-11-04T06:30:00.000Z',
    ]);
    expect(new Set(h.triggers.map((t) => t.execution_id)).size).toBe(h.triggers.length);
  });

  it('starts a new task from now, not from the epoch or its creation date', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    await h.lead();
    h.define(definition('late', { cron_expression: '* * * * *', created_at: at('2020-01-01T00:00:00Z') }));
    await h.clock.advanceTo(at('2026-03-01T10:01:30Z'));
    expect(firesOf(h.kafka.triggers)).toEqual(['2026-03-01T10:01:00.000Z']);
    expect(eventsOf(h.kafka.events, 'TaskMissed')).toEqual([]);
  });

  it('prepares an instant ahead of time but never sends before it', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:00.500Z'), prepareAheadMs: 300 });
    h.define(definition('secondly', { cron_expression: '* * * * * *' }));
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:00:00.800Z'));
    // Prepared at 10:00:00.700, still waiting for 10:00:01.
    expect(h.memory.state.inflight?.since).toBe(at('2026-03-01T10:00:01Z'));
    expect(h.triggers).toEqual([]);
    await h.clock.advanceTo(at('2026-03-01T10:00:03.500Z'));
    expect(h.kafka.sentAt).toEqual(h.triggers.map((t) => t.nominal_time));
    expect(h.triggers.map((t) => t.fire_time)).toEqual(h.triggers.map((t) => t.nominal_time));
  });

  it('drops a prepared fire when its task is disabled before the instant', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z'), prepareAheadMs: 300 });
    const def = definition('minutely', { cron_expression: '* * * * *' });
    h.define(def);
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:00:59.900Z'));
    h.define({ ...def, is_active: false });
    await h.clock.advanceTo(at('2026-03-01T10:03:00Z'));
    expect(h.triggers).toEqual([]);
  });

  it('fires a one-shot task once at its scheduled time', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:00Z') });
    h.define(
      definition('switch', {
        cron_expression: null,
        scheduled_at: at('2026-03-01T10:05:00Z'),
        task_type: 'feature_switch',
      }),
    );
    await h.lead();
    await h.clock.advanceTo(at('2026-03-02T00:00:00Z'));
    expect(firesOf(h.kafka.triggers)).toEqual(['2026-03-01T10:05:00.000Z']);
  });
});
