import { hostname } from 'node:os';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export function createLogger(options: {
  service: string;
  level: LevelWithSilent;
  instanceId?: string;
}): Logger {
  return pino({
    level: options.level,
    base: { service: options.service, instance: options.instanceId ?? defaultInstanceId() },
    // Errors logged as `err` keep their code and details (SchedulerError) next to the stack.
    serializers: { err: pino.stdSerializers.err },
    redact: { paths: ['*.password', '*.token', '*.apiKey', '*.authorization'], censor: '[redacted]' },
  });
}

export function defaultInstanceId(): string {
  return `${hostname()}-${process.pid}`;
}
