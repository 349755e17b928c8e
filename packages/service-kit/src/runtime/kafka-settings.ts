import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { RuntimeConfig } from '../config.ts';

/** kafkajs's SASL and TLS settings from the shared config (`KAFKA_SASL_*`, `KAFKA_SSL*`). */
export function kafkaSecurity(config: RuntimeConfig): Partial<KafkaConfig> {
  const settings: Partial<KafkaConfig> = {};
  if (config.KAFKA_SSL) {
    settings.ssl = config.KAFKA_SSL_CA_FILE ? { ca: [readFileSync(config.KAFKA_SSL_CA_FILE, 'utf8')] } : true;
  }
  if (config.KAFKA_SASL_MECHANISM) {
    settings.sasl = {
      mechanism: config.KAFKA_SASL_MECHANISM,
      username: config.KAFKA_SASL_USERNAME ?? '',
      password: config.KAFKA_SASL_PASSWORD ?? '',
    } as SASLOptions;
  }
  return settings;
}
