import { randomUUID } from 'node:crypto';
import { unionBranch, type TaskCommand } from '@openpenpal/contracts';
import { createSinceReader } from '@openpenpal/messaging';
import type { RunningService } from '@openpenpal/service-kit';
import { collectTopics, waitFor } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { TickerConfig } from '../src/config.ts';
import { createKafkaPublisher } from '../src/kafka/publisher.ts';
import { contracts, createTickerWorld, readiness, type TickerWorld } from './int-support.ts';
import { definition, logger } from './support.ts';

const stack = inject('stack');

const LEASE = {
  TICKER_LEASE_TTL_MS: '3000',
  TICKER_LEASE_RENEW_MS: '1000',
  TICKER_LEASE_SAFETY_MARGIN_MS: '600',
  TICKER_RETRY_BACKOFF_MS: '200',
};

function command(kind: TaskCommand['command'], extra: Partial<TaskCommand> = {}): TaskCommand {
  return {
    command_id: randomUUID(),
    command: kind,
    task_id: null,
    requested_by: 'admin-7',
    requested_at: Date.now(),
    reason: 'integration test',
    payload_override: null,
    ...extra,
  };
}

const role = async (service: RunningService<TickerConfig>) => (await readiness(service)).body.role;
const paused = async (service: RunningService<TickerConfig>) => (await readiness(service)).body.paused;

describe('a ticker on a real broker and Redis', () => {
  let world: TickerWorld;
  beforeEach(async () => {
    world = await createTickerWorld(stack);
  });
  afterEach(async () => {
    await world.close();
  });

  const defs = () => ({ topic: world.definitionsTopic, schema: 'TaskDefinition' as const });
  const commands = () => ({ topic: world.commandsTopic, schema: 'TaskCommand' as const });
  const start = (instance = 'int-test') => world.start({ INSTANCE_ID: instance, ...LEASE });

  it('loads the whole definitions table before leading, then fires each second of a per-second task once', async () => {
    await world.producer.send(defs(), [
      { key: 'secondly', value: definition('secondly', { cron_expression: '* * * * * *' }) },
      { key: 'off', value: definition('off', { cron_expression: '* * * * * *', is_active: false }) },
      { key: 'broken', value: definition('broken', { cron_expression: '* * * * * * * *' }) },
      { key: 'deleted', value: definition('deleted', { cron_expression: '* * * * * *' }) },
      { key: 'deleted', value: null },
    ]);
    const reader = await world.collectTriggers(['letter_cleanup']);
    const t = await start();
    const registry = t.ctx.metrics.registry;
    const metrics = await registry.getSingleMetricAsString('scheduler_ticker_tasks');
    expect(metrics).toMatch(/state="active"[^}]*\} 1/);
    expect(metrics).toMatch(/state="inactive"[^}]*\} 1/);
    expect(metrics).toMatch(/state="invalid"[^}]*\} 1/);
    await waitFor(async () => (await role(t)) === 'leader', { what: 'leadership', timeoutMs: 10_000 });
    await reader.waitForCount(4, { timeoutMs: 15_000 });
    await reader.close();

    const triggers = reader.messages.flatMap((m) => (m.value ? [m.value] : []));
    const seconds = triggers.map((x) => x.nominal_time).sort((a, b) => a - b);
    expect(new Set(triggers.map((x) => x.task_id))).toEqual(new Set(['secondly']));
    for (let i = 1; i < seconds.length; i += 1) expect(seconds[i]! - seconds[i - 1]!).toBe(1_000);
    expect(new Set(triggers.map((x) => x.execution_id)).size).toBe(triggers.length);
    expect(triggers[0]).toMatchObject({ source: 'cron', attempt: 1, fencing_token: 1 });
    expect(reader.messages[0]?.headers['message-id']).toBe(triggers[0]?.execution_id);
    expect(await registry.getSingleMetricAsString('scheduler_distributed_locks_active')).toMatch(
      /lock="ticker-leader"[^}]*\} 1/,
    );
    const ready = await readiness(t);
    expect(ready.statusCode).toBe(200);
    expect(ready.body.checks).toMatchObject({
      definitions_loaded: true,
      'redis:state': true,
      kafka: true,
      'consumer:definitions': true,
      'consumer:executions': true,
    });
  });

  it('reports its role on /readyz: one leader and one standby, both ready', async () => {
    await world.producer.send(defs(), [
      { key: 'daily', value: definition('daily', { cron_expression: '0 3 * * *' }) },
    ]);
    const a = await start('ticker-a');
    await waitFor(async () => (await role(a)) === 'leader', { what: 'a to lead', timeoutMs: 10_000 });
    const b = await start('ticker-b');
    const [ofA, ofB] = await Promise.all([readiness(a), readiness(b)]);
    expect(ofA).toMatchObject({ statusCode: 200, body: { status: 'ready', role: 'leader', paused: false } });
    expect(ofB).toMatchObject({ statusCode: 200, body: { status: 'ready', role: 'standby', paused: null } });
    expect(await b.ctx.metrics.registry.getSingleMetricAsString('scheduler_ticker_leader')).toMatch(/ 0$/m);
  });

  it('hands the commands over with the lease: the next leader consumes them, a standby never does', async () => {
    await world.producer.send(defs(), [
      { key: 'daily', value: definition('daily', { cron_expression: '0 3 * * *' }) },
    ]);
    const a = await start('ticker-a');
    await waitFor(async () => (await role(a)) === 'leader', { what: 'a to lead', timeoutMs: 10_000 });
    const b = await start('ticker-b');
    expect((await readiness(b)).body.checks).not.toHaveProperty('consumer:commands');
    // A graceful stop releases the lease, so b need not wait for its TTL.
    expect(await a.close()).toBe(true);
    await waitFor(async () => (await role(b)) === 'leader', { what: 'b to take over', timeoutMs: 10_000 });
    await world.producer.send(commands(), [{ key: '*', value: command('pause') }]);
    await waitFor(async () => (await paused(b)) === true, {
      what: 'b to apply the pause',
      timeoutMs: 15_000,
    });
  });

  it('applies pause, resume and run_now from the commands topic', async () => {
    await world.producer.send(defs(), [
      {
        key: 'secondly',
        value: definition('secondly', { cron_expression: '* * * * * *', misfire_grace_ms: 500 }),
      },
      {
        key: 'nightly',
        value: definition('nightly', { cron_expression: '0 3 * * *', task_type: 'daily_report' }),
      },
    ]);
    const reader = await world.collectTriggers(['letter_cleanup', 'daily_report']);
    const codec = contracts.codec('ExecutionEvent');
    const eventsReader = await collectTopics(world.kafka, [world.eventsTopic], (bytes) =>
      codec.decode(bytes),
    );
    const triggers = () => reader.messages.flatMap((m) => (m.value ? [m.value] : []));
    const events = () => eventsReader.messages.flatMap((m) => (m.value ? [m.value] : []));
    const t = await start();
    await waitFor(async () => (await role(t)) === 'leader', { what: 'leadership', timeoutMs: 10_000 });
    await reader.waitForCount(2, { timeoutMs: 15_000 });

    await world.producer.send(commands(), [{ key: '*', value: command('pause') }]);
    await waitFor(async () => (await paused(t)) === true, { what: 'the pause', timeoutMs: 15_000 });
    const firedBeforePause = triggers().length;
    await waitFor(
      () => events().some((e) => unionBranch(e.event).name === 'org.openpenpal.scheduler.TaskMissed'),
      {
        what: 'a paused time recorded as missed',
        timeoutMs: 10_000,
      },
    );
    const missed = events().flatMap((e) => {
      const b = unionBranch(e.event);
      return b.name === 'org.openpenpal.scheduler.TaskMissed' ? [b.value] : [];
    });
    expect(missed[0]).toMatchObject({ reason: 'paused', policy: 'fire_once' });
    // At most the batch in flight when the pause landed went out.
    expect(triggers().length - firedBeforePause).toBeLessThanOrEqual(1);

    const runNow = command('run_now', { task_id: 'nightly', payload_override: '{"scope":"test"}' });
    await world.producer.send(commands(), [{ key: 'nightly', value: runNow }]);
    await waitFor(() => triggers().some((x) => x.task_id === 'nightly'), {
      what: 'the run_now trigger',
      timeoutMs: 15_000,
    });
    expect(triggers().find((x) => x.task_id === 'nightly')).toMatchObject({
      source: 'run_now',
      payload: '{"scope":"test"}',
    });

    await world.producer.send(commands(), [{ key: '*', value: command('resume') }]);
    await waitFor(async () => (await paused(t)) === false, { what: 'the resume', timeoutMs: 15_000 });
    const afterResume = triggers().length;
    await waitFor(() => triggers().length >= afterResume + 2, {
      what: 'triggers after the resume',
      timeoutMs: 10_000,
    });
    await reader.close();
    await eventsReader.close();
    const ids = triggers().map((x) => x.execution_id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('applies a command sent before any ticker ever ran: a new commands group starts at the earliest offset', async () => {
    await world.producer.send(defs(), [
      { key: 'secondly', value: definition('secondly', { cron_expression: '* * * * * *' }) },
    ]);
    await world.producer.send(commands(), [
      { key: '*', value: command('pause', { requested_by: 'deploy' }) },
    ]);
    const t = await start();
    await waitFor(async () => (await role(t)) === 'leader', { what: 'leadership', timeoutMs: 10_000 });
    await waitFor(async () => (await paused(t)) === true, {
      what: 'the pause sent before the first leader',
      timeoutMs: 15_000,
    });
    expect(await world.redis.get(`{${world.prefix}}:pause`)).toContain('"by":"deploy"');
  });

  it('does not fire the old run_now commands a new deployment finds on the topic, and dead-letters invalid ones', async () => {
    await world.producer.send(defs(), [
      { key: 'nightly', value: definition('nightly', { cron_expression: '0 3 * * *' }) },
    ]);
    const now = Date.now();
    const stale = command('run_now', { task_id: 'nightly', requested_at: now - 2 * 3_600_000 });
    const recent = command('run_now', { task_id: 'nightly', requested_at: now - 60_000 });
    const ancient = command('run_now', { task_id: 'nightly', requested_at: -1e15 });
    const far = command('run_now', { task_id: 'nightly', requested_at: 8.7e15 });
    await world.producer.send(
      commands(),
      [stale, ancient, far, recent].map((value) => ({ key: 'nightly', value })),
    );
    const reader = await world.collectTriggers(['letter_cleanup']);
    const dlq = await collectTopics(world.kafka, [`${world.commandsTopic}.dlq`]);
    const t = await start();
    await waitFor(() => reader.messages.length >= 1, { what: 'the recent run_now', timeoutMs: 15_000 });
    const letters = await dlq.waitForCount(2, { timeoutMs: 15_000 });
    await waitFor(
      async () =>
        /outcome="expired"[^}]*\} 1/.test(
          await t.ctx.metrics.registry.getSingleMetricAsString('scheduler_ticker_commands_total'),
        ),
      { what: 'the stale run_now counted as expired', timeoutMs: 5_000 },
    );
    await reader.close();
    await dlq.close();
    expect(reader.messages.map((m) => m.value?.nominal_time)).toEqual([recent.requested_at]);
    for (const letter of letters) {
      expect(letter.headers['dlq.error.code']).toBe('VALIDATION_FAILED');
      expect(letter.headers['dlq.error.message']).toContain('requested_at');
    }
  });

  it('reads back the triggers it wrote since a point in time, for reconciliation', async () => {
    const topic = world.triggerTopic('letter_cleanup');
    const trigger = (n: number) => ({
      execution_id: randomUUID(),
      task_id: `t${n}`,
      task_type: 'letter_cleanup' as const,
      task_name: 'x',
      timezone: 'UTC',
      nominal_time: n,
      fire_time: n,
      attempt: 1,
      max_retries: 0,
      timeout_secs: 1,
      payload: '{}',
      source: 'cron' as const,
      fencing_token: 1,
    });
    await world.producer.send(
      { topic, schema: 'TaskTrigger' },
      [1, 2, 3].map((n) => ({ key: `t${n}`, value: trigger(n) })),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const since = Date.now();
    await world.producer.send(
      { topic, schema: 'TaskTrigger' },
      [4, 5].map((n) => ({ key: `t${n}`, value: trigger(n) })),
    );
    const admin = world.kafka.admin();
    await admin.connect();
    try {
      const publisher = createKafkaPublisher({
        triggers: world.producer,
        events: world.producer,
        eventsTopic: world.eventsTopic,
        maxBatch: 10_000,
        readBack: createSinceReader({
          kafka: world.kafka,
          admin,
          contracts,
          logger,
          schema: 'TaskTrigger',
          groupPrefix: `${world.prefix}-reconcile`,
        }),
      });
      const found = await publisher.readTriggers([topic, world.triggerTopic('daily_report')], since);
      expect(found.map((f) => f.trigger.task_id).sort()).toEqual(['t4', 't5']);
      expect(found.every((f) => f.topic === topic)).toBe(true);
    } finally {
      await admin.disconnect();
    }
  });
});
