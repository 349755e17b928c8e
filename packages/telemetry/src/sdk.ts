import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { NodeSDK } from '@opentelemetry/sdk-node';

export interface Telemetry {
  /** Flushes pending spans and stops the SDK; safe to call twice. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK for one service process: W3C trace-context propagation and an
 * async-hooks context manager always, so trace context travels through Kafka headers; an OTLP
 * (protobuf over HTTP) span exporter when `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (Jaeger takes OTLP on 4318). Call it before the
 * service builds its clients. Libraries never call this: they use `@opentelemetry/api` only.
 */
export function startTelemetry(options: { serviceName: string; env?: NodeJS.ProcessEnv }): Telemetry {
  const env = options.env ?? process.env;
  const exporting = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? options.serviceName,
    ...(exporting ? { traceExporter: new OTLPTraceExporter() } : { spanProcessors: [] }),
    instrumentations: [],
  });
  sdk.start();
  let stopping: Promise<void> | undefined;
  return {
    shutdown: () => (stopping ??= sdk.shutdown()),
  };
}
