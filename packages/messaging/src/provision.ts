import { dlqTopicName, DLQ_RETENTION_MS } from '@openpenpal/contracts';
import type { Kafka, ITopicConfig } from 'kafkajs';
import type { Logger } from 'pino';

export interface TopicToProvision {
  name: string;
  partitions: number;
  retentionMs: number;
  cleanupPolicy: 'delete' | 'compact';
}

export interface ProvisionResult {
  created: string[];
  existing: string[];
  /** Existing topics whose partition count differs from the catalogue (never changed automatically). */
  mismatched: { topic: string; partitions: number; expected: number }[];
}

function topicConfig(topic: TopicToProvision, replicationFactor: number): ITopicConfig {
  return {
    topic: topic.name,
    numPartitions: topic.partitions,
    replicationFactor,
    configEntries: [
      { name: 'cleanup.policy', value: topic.cleanupPolicy },
      { name: 'retention.ms', value: String(topic.retentionMs) },
    ],
  };
}

/**
 * Creates the topics that do not exist yet, each with its dead-letter topic, and reports the
 * rest. Idempotent: running it again (or from several services at once) changes nothing.
 */
export async function provisionTopics(options: {
  kafka: Kafka;
  topics: readonly TopicToProvision[];
  withDeadLetters?: boolean;
  replicationFactor?: number;
  logger: Logger;
}): Promise<ProvisionResult> {
  const wanted = new Map<string, TopicToProvision>();
  for (const topic of options.topics) {
    wanted.set(topic.name, topic);
    if (options.withDeadLetters ?? true) {
      const name = dlqTopicName(topic.name);
      wanted.set(name, {
        name,
        partitions: topic.partitions,
        retentionMs: DLQ_RETENTION_MS,
        cleanupPolicy: 'delete',
      });
    }
  }
  const admin = options.kafka.admin();
  await admin.connect();
  try {
    const existingNames = new Set(await admin.listTopics());
    const missing = [...wanted.values()].filter((t) => !existingNames.has(t.name));
    if (missing.length > 0) {
      // createTopics reports false (not an error) for topics another process created meanwhile.
      await admin.createTopics({
        topics: missing.map((t) => topicConfig(t, options.replicationFactor ?? 1)),
        waitForLeaders: true,
      });
    }
    const existing = [...wanted.keys()].filter((name) => existingNames.has(name));
    const mismatched: ProvisionResult['mismatched'] = [];
    if (existing.length > 0) {
      const metadata = await admin.fetchTopicMetadata({ topics: existing });
      for (const topic of metadata.topics) {
        const expected = wanted.get(topic.name)?.partitions ?? topic.partitions.length;
        if (topic.partitions.length !== expected) {
          mismatched.push({ topic: topic.name, partitions: topic.partitions.length, expected });
        }
      }
    }
    for (const m of mismatched) options.logger.warn(m, 'topic partition count differs from the catalogue');
    options.logger.info({ created: missing.length, existing: existing.length }, 'topics provisioned');
    return { created: missing.map((t) => t.name), existing, mismatched };
  } finally {
    await admin.disconnect();
  }
}
