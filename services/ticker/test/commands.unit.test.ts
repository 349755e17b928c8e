import type { TaskCommand } from '@openpenpal/contracts';
import { describe, expect, it } from 'vitest';
import { runNowExecutionId } from '../src/firing/ids.ts';
import { at, createHarness, definition, eventsOf, firesOf, missedOf, type Harness } from './support.ts';

let commandCount = 0;
function command(kind: TaskCommand['command'], extra: Partial<TaskCommand> = {}): TaskCommand {
  commandCount += 1;
  return {
    command_id: `00000000-0000-4000-8000-${String(commandCount).padStart(12, '0')}`,
    command: kind,
    task_id: null,
    requested_by: 'admin-1',
    requested_at: 0,
    reason: null,
    payload_override: null,
    ...extra,
  };
}

const minutes = (fires: string[]) => fires.map((t) => t.slice(11, 16));

async function send(h: Harness, cmd: TaskCommand) {
  const outcome = h.scheduler.command({ ...cmd, requested_at: cmd.requested_at || h.clock.now() });
  await h.clock.advanceBy(0);
  return outcome;
}

describe('pause and resume', () => {
  it('records each time skipped while paused as missed (paused), then fires again on resume', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('minutely', { cron_expression: '* * * * *', misfire_grace_ms: 10_000 }));
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:01:30Z'));
    expect(await send(h, command('pause'))).toBe('applied');
    expect(h.memory.state.pause).toMatchObject({ paused: true, by: 'admin-1' });
    await h.clock.advanceTo(at('2026-03-01T10:05:30Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01']);
    // fire_once keeps the latest pending time for a resume; each earlier one is given up at once.
    expect(missedOf(h.kafka.events).map((m) => `${m.nominal.slice(11, 16)} ${m.reason}`)).toEqual([
      '10:02 paused',
      '10:03 paused',
      '10:04 paused',
    ]);

    expect(await send(h, command('resume'))).toBe('applied');
    await h.clock.advanceTo(at('2026-03-01T10:07:30Z'));
    // On resume the task's misfire policy decides: fire_once fires the latest time missed (10:05).
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01', '10:05', '10:06', '10:07']);
    expect(missedOf(h.kafka.events)).toHaveLength(3);
  });

  it('keeps the pause across a leader change, because it is stored', async () => {
    const one = createHarness({ start: at('2026-03-01T10:00:30Z') });
    const def = definition('minutely', {
      cron_expression: '* * * * *',
      misfire_policy: 'skip',
      misfire_grace_ms: 1_000,
    });
    one.define(def);
    await one.lead(1);
    await send(one, command('pause'));
    one.lease.valid = false;
    await one.scheduler.stepDown();
    const two = createHarness({ start: 0, clock: one.clock, memory: one.memory, kafka: one.kafka });
    two.define(def);
    await two.lead(2);
    await two.clock.advanceTo(at('2026-03-01T10:03:30Z'));
    expect(two.triggers).toEqual([]);
    expect(two.scheduler.isPaused()).toBe(true);
    expect(missedOf(two.kafka.events).map((m) => `${m.nominal.slice(11, 16)} ${m.reason}`)).toEqual([
      '10:01 paused',
      '10:02 paused',
      '10:03 paused',
    ]);
  });

  it('answers a second pause as a duplicate', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    await h.lead();
    expect(await send(h, command('pause'))).toBe('applied');
    expect(await send(h, command('pause'))).toBe('duplicate');
    expect(await send(h, command('resume'))).toBe('applied');
  });
});

describe('run_now', () => {
  it('fires at once with source run_now, an id from the command and the payload override', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('daily', { cron_expression: '0 3 * * *', payload: '{"days_old":7}' }));
    await h.lead();
    const cmd = command('run_now', { task_id: 'daily', payload_override: '{"days_old":1}' });
    expect(await send(h, cmd)).toBe('applied');
    expect(h.triggers).toHaveLength(1);
    expect(h.triggers[0]).toMatchObject({
      execution_id: runNowExecutionId(cmd.command_id),
      source: 'run_now',
      payload: '{"days_old":1}',
      nominal_time: at('2026-03-01T10:00:30Z'),
      fencing_token: 1,
    });
    expect(eventsOf(h.kafka.events, 'TaskTriggered')[0]!.value.source).toBe('run_now');
    expect(h.memory.checkpoints.get('daily')?.split('|')[1]).toBe('1');
  });

  it('fires a redelivered command only once', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('daily', { cron_expression: '0 3 * * *' }));
    await h.lead();
    const cmd = command('run_now', { task_id: 'daily' });
    expect(await send(h, cmd)).toBe('applied');
    expect(await send(h, cmd)).toBe('duplicate');
    expect(h.triggers).toHaveLength(1);
  });

  it('runs while paused and for an inactive task, but not for an unknown one or with a bad override', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('off', { cron_expression: '0 3 * * *', is_active: false }));
    await h.lead();
    await send(h, command('pause'));
    expect(await send(h, command('run_now', { task_id: 'off' }))).toBe('applied');
    expect(await send(h, command('run_now', { task_id: 'nope' }))).toBe('unknown_task');
    const badOverride = command('run_now', {
      task_id: 'off',
      payload_override: '[1]',
      requested_at: h.clock.now(),
    });
    await expect(h.scheduler.command(badOverride)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'payload_override' },
    });
    expect(h.triggers.map((t) => t.task_id)).toEqual(['off']);
  });

  it('ignores a run_now requested longer ago than the bound, as a new deployment replaying the topic would see it', async () => {
    const start = at('2026-03-01T10:00:30Z');
    const h = createHarness({ start, runNowMaxAgeMs: 3_600_000 });
    h.define(definition('daily', { cron_expression: '0 3 * * *' }));
    await h.lead();
    const stale = command('run_now', { task_id: 'daily', requested_at: start - 3_600_001 });
    const recent = command('run_now', { task_id: 'daily', requested_at: start - 3_599_000 });
    expect(await send(h, stale)).toBe('expired');
    expect(await send(h, recent)).toBe('applied');
    expect(h.triggers.map((t) => t.execution_id)).toEqual([runNowExecutionId(recent.command_id)]);
    expect(h.triggers[0]?.nominal_time).toBe(recent.requested_at);
    // Not recorded as missed either: a previous deployment may well have run it.
    expect(missedOf(h.kafka.events)).toEqual([]);
  });
});

describe('the forbid concurrency policy', () => {
  it('skips a time while the previous execution still runs, and fires again once it finished', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('solo', { cron_expression: '* * * * *', concurrency_policy: 'forbid' }));
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:02:30Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01']);
    const skipped = eventsOf(h.kafka.events, 'ExecutionSkipped');
    expect(skipped.map((s) => s.value.reason)).toEqual(['concurrency_forbidden']);
    expect(skipped[0]!.value.detail).toContain(h.triggers[0]!.execution_id);

    await h.memory.store.finishRunning('solo', h.triggers[0]!.execution_id);
    await h.clock.advanceTo(at('2026-03-01T10:03:30Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01', '10:03']);
  });

  it('does not block on an execution that finished before its running mark was written', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z') });
    h.define(definition('fast', { cron_expression: '* * * * *', concurrency_policy: 'forbid' }));
    await h.lead();
    const first = h.scheduler.idle();
    await h.clock.advanceTo(at('2026-03-01T10:01:00Z'));
    await first;
    await h.memory.store.finishRunning('fast', h.triggers[0]!.execution_id);
    await h.clock.advanceTo(at('2026-03-01T10:02:30Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01', '10:02']);
  });

  it('stops blocking once the running execution is past its deadline', async () => {
    const h = createHarness({ start: at('2026-03-01T10:00:30Z'), forbidSlackMs: 1_000 });
    // One attempt of 60 s plus 3 retries: the mark blocks for 4 minutes and 1 s at most.
    h.define(
      definition('stuck', {
        cron_expression: '* * * * *',
        concurrency_policy: 'forbid',
        timeout_secs: 60,
        max_retries: 3,
      }),
    );
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:06:30Z'));
    expect(minutes(firesOf(h.kafka.triggers))).toEqual(['10:01', '10:06']);
    expect(eventsOf(h.kafka.events, 'ExecutionSkipped')).toHaveLength(4);
  });
});
