import { startSpan } from '@openpenpal/telemetry';
import { startOtlpReceiver, type OtlpReceiver } from '@openpenpal/telemetry/otlp-receiver';
import { startTelemetry, type Telemetry } from '@openpenpal/telemetry/sdk';
import { createRedisTestContext, waitFor, type RedisTestContext } from '@openpenpal/test-kit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeRedis, connectRedis, loadLuaScripts } from '../src/index.ts';

const stack = inject('stack');
const logger = pino({ level: 'silent' });
const dir = new URL('./lua/', import.meta.url);

// The SDK exports to a real OTLP/HTTP receiver on loopback.
let receiver: OtlpReceiver;
let telemetry: Telemetry;
let ctx: RedisTestContext;
const saved = { ...process.env };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  telemetry = startTelemetry({ serviceName: 'redis-trace-test' });
  ctx = await createRedisTestContext(stack);
});

afterAll(async () => {
  await ctx.close();
  await telemetry.shutdown();
  process.env = saved;
  await receiver.close();
});

describe('Redis script spans', () => {
  it('makes each script call inside a span a client span with the database conventions, and none outside one', async () => {
    const redis = await connectRedis({ url: stack.redisUrl, connectionName: 'test-script-spans' }, logger);
    try {
      const scripts = loadLuaScripts(redis, {
        dir,
        namespace: 'traced',
        scripts: { setDouble: { file: 'set-double', numberOfKeys: 1 } },
      });
      const key = ctx.key('n');
      // Outside any span: the call only, no trace of its own.
      expect(await scripts.setDouble([key], [1])).toBe(2);
      const { traceId, parentId } = await startSpan('caller', async (span) => {
        expect(await scripts.setDouble([key], [21])).toBe(42);
        expect(await scripts.buffers.setDouble([key], [2])).toBe(4);
        await expect(scripts.setDouble([key], ['not a number'])).rejects.toThrow();
        return { traceId: span.spanContext().traceId, parentId: span.spanContext().spanId };
      });
      const scriptSpans = () => receiver.spans().filter((s) => s.name === 'EVALSHA set-double');
      await waitFor(() => scriptSpans().length >= 3, { what: 'three script spans', timeoutMs: 10_000 });
      // A little longer, so a span of the call outside the caller would have arrived too.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const spans = scriptSpans();
      expect(spans).toHaveLength(3);
      for (const span of spans) {
        expect(span.traceId).toBe(traceId);
        expect(span.parentSpanId).toBe(parentId);
        expect(span.kind).toBe(3);
        expect(span.attributes).toMatchObject({
          'db.system.name': 'redis',
          'db.operation.name': 'EVALSHA',
          'db.stored_procedure.name': 'set-double',
        });
      }
      expect(spans.filter((s) => s.statusCode === 2)).toHaveLength(1);
    } finally {
      await closeRedis(redis);
    }
  });
});
