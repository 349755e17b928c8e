import { randomUUID } from 'node:crypto';
import { unionBranch, type ExecutionEvent, type TaskCommand } from '@openpenpal/contracts';
import type { Admin } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createTriggerReader } from '../src/trigger-reader.ts';
import { createTicker, type Ticker } from '../src/ticker.ts';
import { collectTriggers, contracts, createTickerWorld, waitFor, type TickerWorld } from './int-support.ts';
import { definition, logger } from './support.ts';

const stack = inject('stack');

describe('a ticker on a real broker and Redis', () => {
  let world: TickerWorld;
  let ticker: Ticker | undefined;
  let registry: Registry;
  let admin: Admin;
  beforeEach(async () => {
    world = await createTickerWorld(stack);
    registry = new Registry();
    admin = world.kafka.admin();
    await admin.connect();
  });
  afterEach(async () => {
    await ticker?.close();
    ticker = undefined;
    await admin.disconnect();
    await world.close();
  });

  const defs = () => ({ topic: world.definitionsTopic, schema: 'TaskDefinition' as const });

  const start = async () => {
    ticker = createTicker({
      kafka: world.kafka,
      admin,
      redis: world.redis,
      contracts,
      producer: world.producer,
      logger,
      registry,
      settings: {
        instanceId: 'int-test',
        definitionsTopic: world.definitionsTopic,
        commandsTopic: world.commandsTopic,
        executionEventsTopic: world.eventsTopic,
        triggerTopicPrefix: world.triggerPrefix,
        redisPrefix: world.prefix,
        groupPrefix: world.prefix,
        leaseTtlMs: 3_000,
        leaseRenewMs: 1_000,
        leaseSafetyMarginMs: 600,
        forbidSlackMs: 60_000,
        retryBackoffMs: 200,
        maxSendBatch: 10_000,
        reconcileLookbackMs: 5_000,
        prepareAheadMs: 100,
      },
    });
    await ticker.start();
    return ticker;
  };

  it('loads the whole definitions table before leading, then fires each second of a per-second task once', async () => {
    await world.producer.send(defs(), [
      { key: 'secondly', value: definition('secondly', { cron_expression: '* * * * * *' }) },
      { key: 'off', value: definition('off', { cron_expression: '* * * * * *', is_active: false }) },
      { key: 'broken', value: definition('broken', { cron_expression: '* * * * * * * *' }) },
      { key: 'deleted', value: definition('deleted', { cron_expression: '* * * * * *' }) },
      { key: 'deleted', value: null },
    ]);
    const reader = await collectTriggers(world.kafka, [world.triggerTopic('letter_cleanup')]);
    const t = await start();
    const metrics = await registry.getSingleMetricAsString('scheduler_ticker_tasks');
    expect(metrics).toContain('state="active"} 1');
    expect(metrics).toContain('state="inactive"} 1');
    expect(metrics).toContain('state="invalid"} 1');
    await waitFor(() => t.role() === 'leader', 10_000, 'leadership');
    await waitFor(() => reader.triggers.length >= 4, 15_000, 'four triggers');
    await reader.close();

    const seconds = reader.triggers.map((x) => x.nominal_time).sort((a, b) => a - b);
    expect(new Set(reader.triggers.map((x) => x.task_id))).toEqual(new Set(['secondly']));
    for (let i = 1; i < seconds.length; i += 1) expect(seconds[i]! - seconds[i - 1]!).toBe(1_000);
    expect(new Set(reader.triggers.map((x) => x.execution_id)).size).toBe(reader.triggers.length);
    expect(reader.triggers[0]).toMatchObject({ source: 'cron', attempt: 1, fencing_token: 1 });
    expect(await registry.getSingleMetricAsString('scheduler_distributed_locks_active')).toContain(
      'lock="ticker-leader"} 1',
    );
    const checks = await Promise.all(t.readinessChecks().map(async (c) => [c.name, await c.check()]));
    expect(Object.fromEntries(checks)).toEqual({ definitions_loaded: true, redis: true, kafka: true });
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
    const reader = await collectTriggers(world.kafka, [
      world.triggerTopic('letter_cleanup'),
      world.triggerTopic('daily_report'),
    ]);
    const events: ExecutionEvent[] = [];
    const eventsConsumer = world.kafka.consumer({
      groupId: `${world.prefix}-events-reader`,
      maxWaitTimeInMs: 100,
    });
    await eventsConsumer.connect();
    await eventsConsumer.subscribe({ topic: world.eventsTopic, fromBeginning: true });
    const codec = contracts.codec('ExecutionEvent');
    await eventsConsumer.run({
      eachMessage: ({ message }) => {
        if (message.value) events.push(codec.decode(message.value));
        return Promise.resolve();
      },
    });
    const t = await start();
    await waitFor(() => t.role() === 'leader', 10_000, 'leadership');
    await waitFor(() => reader.triggers.length >= 2, 15_000, 'the first triggers');

    const command = (kind: TaskCommand['command'], extra: Partial<TaskCommand> = {}): TaskCommand => ({
      command_id: randomUUID(),
      command: kind,
      task_id: null,
      requested_by: 'admin-7',
      requested_at: Date.now(),
      reason: 'integration test',
      payload_override: null,
      ...extra,
    });
    const commands = { topic: world.commandsTopic, schema: 'TaskCommand' as const };
    await world.producer.send(commands, [{ key: '*', value: command('pause') }]);
    await waitFor(() => t.isPaused() === true, 15_000, 'the pause');
    const firedBeforePause = reader.triggers.length;
    await waitFor(
      () => events.some((e) => unionBranch(e.event).name === 'org.openpenpal.scheduler.TaskMissed'),
      10_000,
      'a paused time recorded as missed',
    );
    const missed = events.flatMap((e) => {
      const b = unionBranch(e.event);
      return b.name === 'org.openpenpal.scheduler.TaskMissed' ? [b.value] : [];
    });
    expect(missed[0]).toMatchObject({ reason: 'paused', policy: 'fire_once' });
    // At most the batch in flight when the pause landed went out.
    expect(reader.triggers.length - firedBeforePause).toBeLessThanOrEqual(1);

    const runNow = command('run_now', { task_id: 'nightly', payload_override: '{"scope":"test"}' });
    await world.producer.send(commands, [{ key: 'nightly', value: runNow }]);
    await waitFor(() => reader.triggers.some((x) => x.task_id === 'nightly'), 15_000, 'the run_now trigger');
    expect(reader.triggers.find((x) => x.task_id === 'nightly')).toMatchObject({
      source: 'run_now',
      payload: '{"scope":"test"}',
    });

    await world.producer.send(commands, [{ key: '*', value: command('resume') }]);
    await waitFor(() => t.isPaused() === false, 15_000, 'the resume');
    const afterResume = reader.triggers.length;
    await waitFor(() => reader.triggers.length >= afterResume + 2, 10_000, 'triggers after the resume');
    await reader.close();
    await eventsConsumer.disconnect();
    const ids = reader.triggers.map((x) => x.execution_id);
    expect(new Set(ids).size).toBe(ids.length);
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
    const read = createTriggerReader({
      kafka: world.kafka,
      admin,
      contracts,
      logger,
      groupPrefix: world.prefix,
    });
    const found = await read([topic, world.triggerTopic('daily_report')], since);
    expect(found.map((f) => f.trigger.task_id).sort()).toEqual(['t4', 't5']);
    expect(found.every((f) => f.topic === topic)).toBe(true);
  });
});
