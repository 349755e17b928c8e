import { describe, expect, it } from 'vitest';
import { at, createHarness, definition, eventsOf, firesOf, type Harness } from './support.ts';

const minutes = (fires: string[]) => fires.map((t) => t.slice(11, 16));
const ids = (h: Harness) => h.triggers.map((t) => t.execution_id);

describe('a leader that loses its lease', () => {
  it('fires nothing once the lease is no longer valid, even before anyone else leads', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('minutely', { cron_expression: '* * * * *' }));
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:01:30Z'));
    h.lease.valid = false;
    await h.clock.advanceTo(at('2026-03-01T10:05:30Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01']);
    expect(h.scheduler.role()).toBe('standby');
  });

  it('steps down when a newer leader fenced it out of the store', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('minutely', { cron_expression: '* * * * *' }));
    await h.lead(1);
    await h.clock.advanceTo(at('2026-03-01T10:01:30Z'));
    h.memory.state.lease = 'someone-else:2';
    await h.clock.advanceTo(at('2026-03-01T10:03:30Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01']);
    expect(h.scheduler.role()).toBe('standby');
  });
});

describe('a fire interrupted between Kafka and the checkpoint', () => {
  it('is reconciled by the next leader from Kafka: no time fired twice, none lost', async () => {
    const one = createHarness({ start: at('2026-03-01T10:00:30Z') });
    const def = definition('secondly', { cron_expression: '* * * * * *' });
    one.define(def);
    await one.lead(1);
    await one.clock.advanceTo(at('2026-03-01T10:00:33Z'));
    // Leader one dies right after Kafka acknowledged its 10:00:34 trigger, before the checkpoint.
    one.kafka.hooks.afterTriggers = () => {
      one.lease.valid = false;
      one.memory.state.lease = undefined;
      one.kafka.hooks.afterTriggers = undefined;
    };
    await one.clock.advanceTo(at('2026-03-01T10:00:34Z'));
    await one.scheduler.stepDown();
    expect(one.memory.state.inflight).toBeDefined();

    const two = createHarness({ start: 0, clock: one.clock, memory: one.memory, kafka: one.kafka });
    two.define(def);
    await two.lead(2);
    await two.clock.advanceTo(at('2026-03-01T10:00:37Z'));
    const seconds = firesOf(two.kafka.triggers).map((t) => t.slice(17, 19));
    expect(seconds).toEqual(['31', '32', '33', '34', '35', '36', '37']);
    expect(new Set(ids(two)).size).toBe(seconds.length);
    expect(two.memory.state.inflight).toBeUndefined();
    // The reconciled trigger's TaskTriggered event is written (again, under the same event id).
    const triggered = eventsOf(two.kafka.events, 'TaskTriggered').map((e) => e.event.execution_id);
    expect(new Set(triggered)).toEqual(new Set(ids(two)));
  });

  it('retries a batch whose events could not be sent, without sending its triggers again', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('minutely', { cron_expression: '* * * * *' }));
    await h.lead();
    h.kafka.failures.sendEvents = 1;
    await h.clock.advanceTo(at('2026-03-01T10:03:30Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01', '10:02', '10:03']);
    expect(new Set(ids(h)).size).toBe(3);
    expect(new Set(eventsOf(h.kafka.events, 'TaskTriggered').map((e) => e.event.event_id)).size).toBe(3);
  });

  it('retries a batch whose triggers could not be sent, so the time still fires', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('minutely', { cron_expression: '* * * * *' }));
    await h.lead();
    h.kafka.failures.sendTriggers = 2;
    h.memory.state.failures.begin = 1;
    await h.clock.advanceTo(at('2026-03-01T10:02:30Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01', '10:02']);
    // Retried within the grace period, the late minute still counts as on time.
    expect(h.triggers[0]!.fire_time - h.triggers[0]!.nominal_time).toBeGreaterThan(0);
    expect(eventsOf(h.kafka.events, 'TaskMissed')).toEqual([]);
  });
});
