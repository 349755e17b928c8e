import { NodeSDK } from '@opentelemetry/sdk-node';

export interface Telemetry {
  /** Flushes pending spans and stops the SDK; safe to call twice. */
  shutdown(): Promise<void>;
}

const PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export type OtlpProtocol = (typeof PROTOCOLS)[number];

const TRACE_EXPORTERS = ['otlp', 'console', 'zipkin', 'none'] as const;

/** What `startTelemetry` does for a given environment, decided without side effects. */
export type TelemetryPlan =
  | { tracing: false; reason: string }
  | {
      tracing: true;
      serviceName: string | undefined;
      /** Trace exporters named by OTEL_TRACES_EXPORTER (default otlp). */
      exporters: readonly string[];
      /** The OTLP protocol of the trace exporter (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or _PROTOCOL). */
      protocol: OtlpProtocol;
      /** Metric readers and log processors are made only when OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER name one. */
      metrics: boolean;
      logs: boolean;
    };

function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function list(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const value = setting(env, name);
  return value
    ?.split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** An OTEL_*_EXPORTER list that asks for an exporter (set, and not only `none`). */
function asksFor(names: string[] | undefined): boolean {
  return names !== undefined && names.length > 0 && !names.includes('none');
}

/** Whether OTEL_RESOURCE_ATTRIBUTES names the service itself (`service.name=...`). */
function resourceNamesService(env: NodeJS.ProcessEnv): boolean {
  return (list(env, 'OTEL_RESOURCE_ATTRIBUTES') ?? []).some(
    (pair) => pair.split('=')[0]?.trim() === 'service.name',
  );
}

/**
 * Reads the standard OpenTelemetry variables. Tracing is on when an exporter is configured: an OTLP
 * endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or an explicit
 * OTEL_TRACES_EXPORTER other than `none`; OTEL_SDK_DISABLED=true turns it off. The service name is
 * OTEL_SERVICE_NAME, else a `service.name` in OTEL_RESOURCE_ATTRIBUTES, else the service's own name.
 * A protocol or exporter name the SDK does not know is an error, not a silent fallback.
 */
export function telemetryPlan(env: NodeJS.ProcessEnv, defaultServiceName: string): TelemetryPlan {
  if (setting(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') {
    return { tracing: false, reason: 'OTEL_SDK_DISABLED is true' };
  }
  const exporters = list(env, 'OTEL_TRACES_EXPORTER');
  for (const name of exporters ?? []) {
    if (!(TRACE_EXPORTERS as readonly string[]).includes(name)) {
      throw new Error(
        `OTEL_TRACES_EXPORTER: unknown exporter "${name}" (one of ${TRACE_EXPORTERS.join(', ')})`,
      );
    }
  }
  if (exporters?.includes('none')) return { tracing: false, reason: 'OTEL_TRACES_EXPORTER is none' };
  const endpoint =
    setting(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? setting(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (!asksFor(exporters) && endpoint === undefined) {
    return { tracing: false, reason: 'no OTLP endpoint and no OTEL_TRACES_EXPORTER' };
  }
  const protocolName =
    setting(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ??
    setting(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ??
    'http/protobuf';
  if (!(PROTOCOLS as readonly string[]).includes(protocolName)) {
    throw new Error(
      `OTEL_EXPORTER_OTLP_PROTOCOL: unknown protocol "${protocolName}" (one of ${PROTOCOLS.join(', ')})`,
    );
  }
  const serviceName =
    setting(env, 'OTEL_SERVICE_NAME') ?? (resourceNamesService(env) ? undefined : defaultServiceName);
  return {
    tracing: true,
    serviceName,
    exporters: exporters ?? ['otlp'],
    protocol: protocolName as OtlpProtocol,
    metrics: asksFor(list(env, 'OTEL_METRICS_EXPORTER')),
    logs: asksFor(list(env, 'OTEL_LOGS_EXPORTER')),
  };
}

const NO_TELEMETRY: Telemetry = { shutdown: () => Promise.resolve() };

/**
 * Starts the OpenTelemetry SDK for one service process, configured by the standard `OTEL_*`
 * variables of `process.env` (the SDK and its exporters read them there): the trace exporter and
 * its protocol (http/protobuf, http/json, grpc), endpoint and headers, the sampler
 * (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG), resource attributes and service name. When no
 * trace exporter is configured nothing starts at all (no SDK, no propagator: spans are no-ops and
 * hot paths skip them). Metric readers and log exporters are created only when OTEL_METRICS_EXPORTER
 * or OTEL_LOGS_EXPORTER ask for them. Call it before the service builds its clients. Libraries never
 * call this: they use `@opentelemetry/api` only.
 */
export function startTelemetry(options: { serviceName: string }): Telemetry {
  const plan = telemetryPlan(process.env, options.serviceName);
  if (!plan.tracing) return NO_TELEMETRY;
  const sdk = new NodeSDK({
    ...(plan.serviceName === undefined ? {} : { serviceName: plan.serviceName }),
    // Left out, the SDK builds these from the environment (OTEL_TRACES_EXPORTER, the OTLP protocol,
    // endpoint and headers; OTEL_METRICS_EXPORTER; OTEL_LOGS_EXPORTER). An empty list builds none.
    ...(plan.metrics ? {} : { metricReaders: [] }),
    ...(plan.logs ? {} : { logRecordProcessors: [] }),
    instrumentations: [],
  });
  sdk.start();
  let stopping: Promise<void> | undefined;
  return {
    shutdown: () => (stopping ??= sdk.shutdown()),
  };
}
