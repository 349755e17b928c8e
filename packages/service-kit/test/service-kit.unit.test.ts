import { SchedulerError } from '@openpenpal/errors';
import { pino } from 'pino';
import { Registry, Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  baseConfigShape,
  booleanFlag,
  closeAll,
  csv,
  loadConfig,
  positiveInt,
  buildOpsApp,
  cachedCheck,
  redisConfigShape,
  runtimeConfigShape,
  serviceConfig,
  type ReadinessCheck,
} from '../src/index.ts';

const logger = pino({ level: 'silent' });

describe('loadConfig', () => {
  const schema = z.object({
    ...baseConfigShape,
    KAFKA_BROKERS: csv,
    HTTP_PORT: positiveInt.default(8080),
    PAUSED: booleanFlag.default(false),
  });

  it('parses and applies defaults', () => {
    const config = loadConfig(schema, { KAFKA_BROKERS: 'a:1, b:2', PAUSED: 'yes' });
    expect(config).toMatchObject({
      KAFKA_BROKERS: ['a:1', 'b:2'],
      HTTP_PORT: 8080,
      PAUSED: true,
      LOG_LEVEL: 'info',
    });
  });

  it('reports every bad variable by name in one CONFIG_INVALID error', () => {
    let thrown: unknown;
    try {
      loadConfig(schema, { HTTP_PORT: '-3', LOG_LEVEL: 'loud', PAUSED: 'maybe' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SchedulerError);
    const error = thrown as SchedulerError;
    expect(error.code).toBe('CONFIG_INVALID');
    const variables = (error.details.problems as { variable: string }[]).map((p) => p.variable).sort();
    expect(variables).toEqual(['HTTP_PORT', 'KAFKA_BROKERS', 'LOG_LEVEL', 'PAUSED']);
  });
});

describe('ops routes', () => {
  it('serve health, readiness with failing checks named and explained, and metrics, without listening', async () => {
    const registry = new Registry();
    new Counter({ name: 'test_things_total', help: 'things', registers: [registry] }).inc(3);
    let redisUp = false;
    const app = buildOpsApp({
      registry,
      logger,
      checkCacheMs: 0,
      checks: [
        { name: 'kafka', check: () => true },
        { name: 'redis', check: () => redisUp },
        { name: 'broken', check: () => Promise.reject(new Error('connection refused')) },
      ],
      status: () => ({ role: 'leader' }),
    });
    try {
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
      const notReady = await app.inject({ url: '/readyz' });
      expect(notReady.statusCode).toBe(503);
      expect(notReady.json()).toEqual({
        status: 'not_ready',
        checks: { kafka: true, redis: false, broken: false },
        reasons: { redis: 'not ready', broken: 'connection refused' },
        role: 'leader',
      });
      redisUp = true;
      const metrics = await app.inject({ url: '/metrics' });
      expect(metrics.body).toContain('test_things_total 3');
      expect(metrics.headers['content-type']).toMatch(/text\/plain/);
    } finally {
      await app.close();
    }
  });

  it('read the current list of checks on every probe', async () => {
    const checks: ReadinessCheck[] = [];
    const app = buildOpsApp({ registry: new Registry(), logger, checks: () => checks });
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    checks.push({ name: 'late', check: () => false });
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(503);
    await app.close();
  });
});

describe('cachedCheck', () => {
  it('answers not ready when a check hangs past its timeout', async () => {
    const check = cachedCheck(
      { name: 'hung', check: () => new Promise<boolean>(() => undefined) },
      { timeoutMs: 20 },
    );
    expect(await check.run()).toEqual({ name: 'hung', ok: false, reason: 'no answer within 20 ms' });
  });

  it('reuses an answer within the cache interval and shares a run between concurrent probes', async () => {
    let now = 0;
    let calls = 0;
    const check = cachedCheck(
      {
        name: 'counted',
        check: () => {
          calls += 1;
          return Promise.resolve(true);
        },
      },
      { cacheMs: 1_000, now: () => now },
    );
    await Promise.all([check.run(), check.run()]);
    await check.run();
    expect(calls).toBe(1);
    now = 1_500;
    await check.run();
    expect(calls).toBe(2);
  });
});

describe('serviceConfig', () => {
  const schema = serviceConfig({
    ...runtimeConfigShape({ name: 'thing', httpPort: 8_200 }),
    ...redisConfigShape({ keyPrefix: 'openpenpal:thing' }),
    THING_BATCH: positiveInt.default(5),
  });

  it('composes the shared shapes with the service defaults and its own settings', () => {
    const config = loadConfig(schema, { KAFKA_BROKERS: 'k:1', REDIS_URL: 'redis://r:1' });
    expect(config).toMatchObject({
      HTTP_PORT: 8_200,
      KAFKA_CLIENT_ID: 'thing',
      KAFKA_GROUP_ID: 'thing',
      KAFKA_REPLICATION_FACTOR: 1,
      KAFKA_SESSION_TIMEOUT_MS: 6_000,
      REDIS_KEY_PREFIX: 'openpenpal:thing',
      THING_BATCH: 5,
    });
  });

  it('requires SASL credentials with a SASL mechanism', () => {
    expect(() =>
      loadConfig(schema, {
        KAFKA_BROKERS: 'k:1',
        REDIS_URL: 'redis://r:1',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'ticker',
      }),
    ).toThrow(/KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set/);
  });
});

describe('closeAll', () => {
  it('closes in reverse order and reports a component that overruns the deadline', async () => {
    const order: string[] = [];
    const clean = await closeAll(
      [
        { name: 'first', close: () => Promise.resolve(void order.push('first')) },
        { name: 'slow', close: () => new Promise<void>(() => undefined) },
        { name: 'last', close: () => Promise.resolve(void order.push('last')) },
      ],
      100,
      logger,
    );
    expect(order).toEqual(['last', 'first']);
    expect(clean).toBe(false);
  });
});
