import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createContracts, topicSpec } from '@openpenpal/contracts';
import { sampleTrigger } from '@openpenpal/contracts/samples';
import { createKafkaTestContext, type KafkaTestContext } from '@openpenpal/test-kit';
import { ConfigResourceTypes } from 'kafkajs';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { subscription } from '@openpenpal/messaging';
import { loadConfig, startService, type RunningService } from '../src/index.ts';
import { echoService } from './fixtures/echo-service.ts';

const stack = inject('stack');
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const contracts = createContracts();
const fixture = fileURLToPath(new URL('./fixtures/echo-service.ts', import.meta.url));

const trigger = (taskId: string) => sampleTrigger({ task_id: taskId, task_name: taskId });

/** Runs the fixture service as its own process and resolves with its exit code and output. */
function runProcess(env: Record<string, string>, timeoutMs = 60_000) {
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [fixture], { env: { ...process.env, ...env }, stdio: 'pipe' });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the service did not exit within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('service runtime', () => {
  let ctx: KafkaTestContext;
  let env: Record<string, string>;
  let running: RunningService<ReturnType<typeof loadEcho>> | undefined;
  const loadEcho = (vars: Record<string, string>) => loadConfig(echoService.configSchema, vars);

  beforeEach(async () => {
    ctx = await createKafkaTestContext(stack, {});
    env = {
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      KAFKA_GROUP_ID: ctx.groupId('echo'),
      ECHO_INPUT_TOPIC: `t-echo-in-${randomUUID()}`,
      ECHO_OUTPUT_TOPIC: `t-echo-out-${randomUUID()}`,
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
    };
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
    const admin = ctx.kafka.admin();
    await admin.connect();
    const names = [env.ECHO_INPUT_TOPIC!, env.ECHO_OUTPUT_TOPIC!].flatMap((t) => [t, `${t}.dlq`]);
    await admin.deleteTopics({ topics: names }).catch(() => undefined);
    await admin.disconnect();
    await ctx.close();
  });

  it('provisions its topics, consumes, and counts messages by outcome in /metrics', async () => {
    running = await startService(echoService, { config: loadEcho(env), logger });
    const producer = running.ctx.producer;
    const input = { topic: env.ECHO_INPUT_TOPIC!, schema: 'TaskTrigger' as const };
    await producer.send(input, [
      { key: 'a', value: trigger('a') },
      { key: 'p', value: trigger('poison') },
    ]);
    const app = running.ops.app;
    let metrics = '';
    for (let i = 0; i < 200; i++) {
      metrics = (await app.inject({ url: '/metrics' })).body;
      if (metrics.includes('outcome="dead_lettered"') && metrics.includes('outcome="processed"')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(metrics).toMatch(/scheduler_consumer_messages_total\{[^}]*outcome="processed"[^}]*\} 1/);
    expect(metrics).toMatch(
      /scheduler_consumer_dead_letters_total\{[^}]*code="NON_RETRYABLE_FAILURE"[^}]*\} 1/,
    );
    expect(metrics).toMatch(/scheduler_consumer_running\{[^}]*\} 1/);
    expect(metrics).toContain('service="echo"');
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.json()).toMatchObject({ status: 'ready', checks: { kafka: true, 'consumer:copy': true } });
    const dlq = await running.ctx.admin.fetchTopicOffsets(`${env.ECHO_OUTPUT_TOPIC}.dlq`);
    expect(dlq).toHaveLength(6);
    const [dlqConfig] = (
      await running.ctx.admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: `${env.ECHO_INPUT_TOPIC}.dlq`,
            configNames: ['max.message.bytes'],
          },
        ],
      })
    ).resources;
    expect(Number(dlqConfig?.configEntries[0]?.configValue)).toBeGreaterThan(1_048_588);
    expect(contracts).toBeDefined();
  });

  it('forgets a consumer the service closed itself: no readiness check and no shutdown entry left', async () => {
    running = await startService(echoService, { config: loadEcho(env), logger });
    const extra = running.ctx.consumer({
      name: 'extra',
      subscriptions: [
        subscription({ topic: env.ECHO_INPUT_TOPIC!, schema: 'TaskTrigger' }, () => Promise.resolve()),
      ],
    });
    await extra.start();
    const checks = async () =>
      Object.keys((await running!.ops.app.inject({ url: '/readyz' })).json<{ checks: object }>().checks);
    expect(await checks()).toContain('consumer:extra');
    await extra.close();
    expect(await checks()).not.toContain('consumer:extra');
    expect(extra.isRunning()).toBe(false);
    expect(await running.close()).toBe(true);
  });

  it('creates only the catalogued topics it owns and waits for the others, naming who creates them', async () => {
    const missing = `t-owned-elsewhere-${randomUUID()}`;
    const spec = { ...topicSpec('scheduler.delay-events'), name: missing, owner: 'far-away-service' };
    const waiting = { ...echoService, topics: () => [{ spec, name: missing }] };
    const failure = await startService(waiting, {
      config: loadEcho({ ...env, KAFKA_TOPIC_WAIT_MS: '1500' }),
      logger,
    }).catch((error: unknown) => error);
    expect(String(failure)).toContain(`${missing} (created by far-away-service)`);
    expect(
      await ctx.kafka
        .admin()
        .listTopics()
        .catch(() => []),
    ).not.toContain(missing);
  });

  it('fails readiness once a component fails for good, and tells the process', async () => {
    const fatal: Error[] = [];
    running = await startService(echoService, {
      config: loadEcho(env),
      logger,
      onFatal: (error) => fatal.push(error),
    });
    running.ctx.fail(new Error('the consumer crashed'));
    running.ctx.fail(new Error('reported once'));
    const ready = await running.ops.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ checks: { fatal: false } });
    expect(fatal.map((e) => e.message)).toEqual(['the consumer crashed']);
  });

  it('exits non-zero with a clear message when it cannot reach Kafka at start', async () => {
    const { code, output } = await runProcess({ ...env, KAFKA_BROKERS: '127.0.0.1:1', LOG_LEVEL: 'fatal' });
    expect(code).toBe(1);
    expect(output).toMatch(/echo failed to start: .*(ECONNREFUSED|Connection error|connect)/i);
  });

  it('exits non-zero naming every bad setting', async () => {
    const { code, output } = await runProcess({
      ...env,
      KAFKA_SESSION_TIMEOUT_MS: '10',
      ECHO_INPUT_TOPIC: 'bad topic',
    });
    expect(code).toBe(1);
    expect(output).toContain('KAFKA_SESSION_TIMEOUT_MS');
    expect(output).toContain('ECHO_INPUT_TOPIC');
  });

  it('closes every component and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, ...env, LOG_LEVEL: 'info' },
      stdio: 'pipe',
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    for (let i = 0; i < 300 && !output.includes('echo started'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain('echo started');
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('"clean":true');
  });
});
