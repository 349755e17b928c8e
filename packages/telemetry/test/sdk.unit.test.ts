import { describe, expect, it } from 'vitest';
import { telemetryPlan } from '../src/sdk.ts';

describe('telemetryPlan', () => {
  it('starts nothing when no exporter is configured', () => {
    expect(telemetryPlan({}, 'svc')).toEqual({
      tracing: false,
      reason: 'no OTLP endpoint and no OTEL_TRACES_EXPORTER',
    });
    expect(telemetryPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, 'svc').tracing).toBe(false);
    // The protocol alone configures no exporter.
    expect(telemetryPlan({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'svc').tracing).toBe(false);
  });

  it('starts nothing when disabled or the exporter is none, even with an endpoint', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(telemetryPlan({ ...endpoint, OTEL_SDK_DISABLED: 'true' }, 'svc').tracing).toBe(false);
    expect(telemetryPlan({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }, 'svc').tracing).toBe(false);
  });

  it('traces over OTLP http/protobuf by default when an endpoint is set, with no metric or log exporter', () => {
    expect(telemetryPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, 'svc')).toEqual({
      tracing: true,
      serviceName: 'svc',
      exporters: ['otlp'],
      protocol: 'http/protobuf',
      metrics: false,
      logs: false,
    });
    expect(
      telemetryPlan({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://x:4318/v1/traces' }, 'svc').tracing,
    ).toBe(true);
  });

  it('honours the protocol, the traces-specific one first', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    const protocol = (env: NodeJS.ProcessEnv) => {
      const plan = telemetryPlan({ ...endpoint, ...env }, 'svc');
      return plan.tracing ? plan.protocol : undefined;
    };
    expect(protocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBe('http/json');
    expect(protocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toBe('grpc');
    expect(
      protocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }),
    ).toBe('http/json');
    expect(() => protocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'udp' })).toThrow(/unknown protocol "udp"/);
  });

  it('makes metric and log exporters only when asked for', () => {
    const plan = telemetryPlan(
      {
        OTEL_TRACES_EXPORTER: 'console',
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_LOGS_EXPORTER: 'none',
      },
      'svc',
    );
    expect(plan).toMatchObject({ tracing: true, exporters: ['console'], metrics: true, logs: false });
    expect(() => telemetryPlan({ OTEL_TRACES_EXPORTER: 'jaeger' }, 'svc')).toThrow(
      /unknown exporter "jaeger"/,
    );
  });

  it('names the service by OTEL_SERVICE_NAME, then service.name in the resource attributes, then its own name', () => {
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    const name = (env: NodeJS.ProcessEnv) => {
      const plan = telemetryPlan({ ...base, ...env }, 'svc');
      return plan.tracing ? plan.serviceName : 'off';
    };
    expect(name({})).toBe('svc');
    expect(name({ OTEL_SERVICE_NAME: 'other' })).toBe('other');
    // Left to the SDK's resource detector, which reads OTEL_RESOURCE_ATTRIBUTES.
    expect(
      name({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=ci, service.name=from-attrs' }),
    ).toBeUndefined();
    expect(name({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=ci' })).toBe('svc');
  });
});
