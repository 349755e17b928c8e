import { Kafka, logLevel, type KafkaConfig, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';
import { noDelaySocketFactory } from './socket.ts';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs through the service's pino logger (kafkajs INFO is chatty: it maps to debug). */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...rest } = log;
      const mapped = level === logLevel.INFO ? 'debug' : (LEVELS[level] ?? 'debug');
      logger[mapped]({ kafkajs: rest }, message);
    };
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Extra kafkajs settings (ssl, sasl, timeouts); sockets default to TCP_NODELAY (see socket.ts). */
  config?: Partial<KafkaConfig>;
}

export function createKafkaClient(options: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(options.logger.child({ component: 'kafkajs' })),
    // Reconnect quickly once a broker is back: kafkajs's default lets a retry wait up to 30 s.
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
    socketFactory: noDelaySocketFactory,
    ...options.config,
  });
}
