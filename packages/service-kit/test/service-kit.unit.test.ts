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
  startOpsServer,
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

describe('ops server', () => {
  it('serves health, readiness with failing checks named, and metrics', async () => {
    const registry = new Registry();
    new Counter({ name: 'test_things_total', help: 'things', registers: [registry] }).inc(3);
    let redisUp = false;
    const server = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      logger,
      checks: [
        { name: 'kafka', check: () => true },
        { name: 'redis', check: () => redisUp },
        { name: 'broken', check: () => Promise.reject(new Error('x')) },
      ],
    });
    try {
      expect((await fetch(`${server.url()}/healthz`)).status).toBe(200);
      const notReady = await fetch(`${server.url()}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({
        status: 'not_ready',
        checks: { kafka: true, redis: false, broken: false },
      });
      redisUp = true;
      const metrics = await (await fetch(`${server.url()}/metrics`)).text();
      expect(metrics).toContain('test_things_total 3');
    } finally {
      await server.close();
      await server.close();
    }
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
