import { Writable } from 'node:stream';
import { startSpan } from '@openpenpal/telemetry';
import { startTelemetry } from '@openpenpal/telemetry/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';

const saved = { ...process.env };
// A real SDK: console exporter with everything sampled out, so span contexts are valid and nothing prints.
process.env.OTEL_TRACES_EXPORTER = 'console';
process.env.OTEL_TRACES_SAMPLER = 'always_off';
const telemetry = startTelemetry({ serviceName: 'logger-test' });

afterAll(async () => {
  await telemetry.shutdown();
  process.env = saved;
});

describe('createLogger', () => {
  it('writes trace_id and span_id on lines logged inside a span, none outside', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        callback();
      },
    });
    const logger = createLogger({ service: 'svc', level: 'info', instanceId: 'i1', destination });
    logger.info('outside');
    const ids = await startSpan('work', (span) => {
      logger.info('inside');
      return Promise.resolve(span.spanContext());
    });
    expect(lines).toHaveLength(2);
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[0]).not.toHaveProperty('span_id');
    expect(lines[1]).toMatchObject({
      msg: 'inside',
      service: 'svc',
      trace_id: ids.traceId,
      span_id: ids.spanId,
    });
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});
