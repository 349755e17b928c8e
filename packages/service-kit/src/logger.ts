import { hostname } from 'node:os';
import { traceLogFields } from '@openpenpal/telemetry';
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export function createLogger(options: {
  service: string;
  level: LevelWithSilent;
  instanceId?: string;
  /** Where lines go; standard output when omitted. */
  destination?: DestinationStream;
}): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service, instance: options.instanceId ?? defaultInstanceId() },
      // Errors logged as `err` keep their code and details (SchedulerError) next to the stack.
      serializers: { err: pino.stdSerializers.err },
      redact: { paths: ['*.password', '*.token', '*.apiKey', '*.authorization'], censor: '[redacted]' },
      // Every line written inside a span carries its trace_id and span_id (none outside one).
      mixin: traceLogFields,
    },
    options.destination,
  );
}

export function defaultInstanceId(): string {
  return `${hostname()}-${process.pid}`;
}
