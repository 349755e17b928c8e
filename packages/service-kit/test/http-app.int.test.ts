import { fastify, type FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  defineService,
  loadConfig,
  opsRoutes,
  runtimeConfigShape,
  serviceConfig,
  startService,
  type RunningService,
} from '../src/index.ts';

const stack = inject('stack');
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A service with routes of its own: the runtime serves them and the ops routes on one port. */
function serviceWithRoutes(order: string[]) {
  return defineService({
    name: 'http-fixture',
    configSchema: serviceConfig(runtimeConfigShape({ name: 'http-fixture', httpPort: 0 })),
    topics: () => [],
    start: async (ctx) => {
      order.push('start');
      ctx.register({ name: 'component', close: () => Promise.resolve(void order.push('close component')) });
      await Promise.resolve();
    },
    http: (ctx, ops) => {
      order.push('http');
      const loggerInstance: FastifyBaseLogger = ctx.logger;
      const app = fastify({ loggerInstance });
      void app.register(opsRoutes, ops);
      app.get('/hello', () => ({ service: ctx.service }));
      app.addHook('onClose', () => void order.push('close server'));
      return app;
    },
  });
}

describe('service runtime with a service-built HTTP app', () => {
  let running: RunningService<ReturnType<typeof config>> | undefined;
  const config = () =>
    loadConfig(serviceConfig(runtimeConfigShape({ name: 'http-fixture', httpPort: 0 })), {
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
    });
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('builds the app after start, serves its routes and the ops routes on one port, and closes the server first', async () => {
    const order: string[] = [];
    running = await startService(serviceWithRoutes(order), { config: config(), logger });
    expect(order).toEqual(['start', 'http']);
    const base = running.ops.url();
    const hello = await fetch(`${base}/hello`);
    expect(await hello.json()).toEqual({ service: 'http-fixture' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { started: true, kafka: true } });
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    await running.close();
    running = undefined;
    expect(order.slice(2)).toEqual(['close server', 'close component']);
  });

  it('fails the start and closes what started when the app cannot listen', async () => {
    const order: string[] = [];
    const first = await startService(serviceWithRoutes([]), { config: config(), logger });
    try {
      const port = new URL(first.ops.url()).port;
      const taken = { ...config(), HTTP_PORT: Number(port) };
      await expect(startService(serviceWithRoutes(order), { config: taken, logger })).rejects.toThrow(
        /http-fixture failed to start/,
      );
      expect(order).toContain('close component');
    } finally {
      await first.close();
    }
  });
});
