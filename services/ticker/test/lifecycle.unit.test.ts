import { describe, expect, it } from 'vitest';
import { at, createHarness, definition, firesOf } from './support.ts';

const minutes = (fires: string[]) => fires.map((t) => t.slice(11, 16));

describe('task definitions changing while the leader runs', () => {
  it('stops firing a disabled task at once and fires it once per nominal time when re-enabled', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    const def = definition('toggle', { cron_expression: '* * * * *' });
    h.define(def);
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:02:30Z'));
    h.define({ ...def, is_active: false });
    await h.clock.advanceTo(at('2026-03-01T10:05:30Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01', '10:02']);

    // Enabled again, several times over: still one entry per task id, so one fire per minute.
    h.define(def);
    h.define(def);
    h.define({ ...def, name: 'renamed' });
    await h.clock.advanceTo(at('2026-03-01T10:08:30Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01', '10:02', '10:06', '10:07', '10:08']);
    // The minutes while it was disabled were not its times: neither fired nor recorded missed.
    expect(h.kafka.events.filter((e) => 'org.openpenpal.scheduler.TaskMissed' in e.event)).toEqual([]);
  });

  it('stops firing a deleted task and forgets its checkpoint', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('gone', { cron_expression: '* * * * *' }));
    h.define(definition('stays', { cron_expression: '* * * * *' }));
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:01:30Z'));
    expect(h.memory.checkpoints.has('gone')).toBe(true);
    h.remove('gone');
    await h.clock.advanceTo(at('2026-03-01T10:03:30Z'));
    expect(minutes(firesOf(h.kafka.triggers, 'gone'))).toEqual(['10:01']);
    expect(minutes(firesOf(h.kafka.triggers, 'stays'))).toEqual(['10:01', '10:02', '10:03']);
    expect(h.memory.checkpoints.has('gone')).toBe(false);
  });

  it('stops after max_runs runs, counting them in the durable checkpoint', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('thrice', { cron_expression: '* * * * *', max_runs: 3 }));
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:10:00Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01', '10:02', '10:03']);
    expect(h.memory.checkpoints.get('thrice')).toBe(`${at('2026-03-01T10:03:00Z')}|3|0`);
  });

  it('keeps max_runs across a leader change', async () => {
    const one = createHarness({ start: at('2026-03-01T10:00:30Z') });
    const def = definition('thrice', { cron_expression: '* * * * *', max_runs: 3 });
    one.define(def);
    await one.lead(1);
    await one.clock.advanceTo(at('2026-03-01T10:02:30Z'));
    one.lease.valid = false;
    await one.scheduler.stepDown();
    const two = createHarness({ start: 0, clock: one.clock, memory: one.memory, kafka: one.kafka });
    two.define(def);
    await two.lead(2);
    await two.clock.advanceTo(at('2026-03-01T10:10:00Z'));
    expect(minutes(firesOf(two.kafka.triggers))).toEqual(['10:01', '10:02', '10:03']);
  });

  it('fires nothing after end_date and nothing before start_date', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(
      definition('window', {
        cron_expression: '* * * * *',
        start_date: at('2026-03-01T10:03:00Z'),
        end_date: at('2026-03-01T10:05:00Z'),
      }),
    );
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:10:00Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:03', '10:04', '10:05']);
  });

  it('logs and skips an invalid definition without stopping the other tasks', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('bad-cron', { cron_expression: '61 * * * *' }));
    h.define(definition('bad-zone', { timezone: 'Mars/Olympus' }));
    h.define(definition('fine', { cron_expression: '* * * * *' }));
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:02:30Z'));
    expect(new Set(h.triggers.map((t) => t.task_id))).toEqual(new Set(['fine']));
  });

  it('stops a task whose new definition is invalid rather than keep running the replaced one', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    const def = definition('edited', { cron_expression: '* * * * *' });
    h.define(def);
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:01:30Z'));
    h.define({ ...def, cron_expression: '* * *' });
    await h.clock.advanceTo(at('2026-03-01T10:04:30Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01']);
  });

  it('reschedules a task whose expression changed, from its checkpoint', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    const def = definition('edited', { cron_expression: '*/2 * * * *' });
    h.define(def);
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:02:30Z'));
    h.define({ ...def, cron_expression: '* * * * *' });
    await h.clock.advanceTo(at('2026-03-01T10:05:30Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:02', '10:03', '10:04', '10:05']);
  });
});
