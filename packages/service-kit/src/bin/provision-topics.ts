// pnpm topics:provision — creates every catalogued topic (and its .dlq) with the catalogue's
// partitions, retention and cleanup policy and the replication settings of the environment
// (KAFKA_*). Idempotent; for operators, compose and dev.sh, before the topics' owners run.
import { TOPICS } from '@openpenpal/contracts';
import { toError } from '@openpenpal/errors';
import { createKafkaClient, provisionTopics } from '@openpenpal/messaging';
import { z } from 'zod';
import { baseConfigShape, kafkaConfigShape, loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { kafkaSecurity } from '../runtime/kafka-settings.ts';

const schema = z.object({
  ...baseConfigShape,
  ...kafkaConfigShape({ clientId: 'topics-provision', groupId: 'topics-provision' }),
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: z.coerce.number().default(0),
});

try {
  const config = loadConfig(schema);
  const logger = createLogger({ service: 'topics-provision', level: config.LOG_LEVEL });
  const kafka = createKafkaClient({
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID,
    logger,
    config: kafkaSecurity(config),
  });
  const result = await provisionTopics({
    kafka,
    logger,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS,
    topics: TOPICS.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions,
      retentionMs: topic.retentionMs,
      cleanupPolicy: topic.cleanupPolicy,
    })),
  });
  process.stdout.write(
    `topics: ${result.created.length} created, ${result.existing.length} existing` +
      (result.mismatched.length
        ? `, ${result.mismatched.length} with another partition count (see log)`
        : '') +
      '\n',
  );
} catch (error) {
  process.stderr.write(`topics:provision failed: ${toError(error).message}\n`);
  process.exit(1);
}
