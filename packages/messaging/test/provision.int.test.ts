import { uniqueName } from '@openpenpal/test-kit';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createKafkaClient, provisionTopics } from '../src/index.ts';
import { logger } from './support.ts';

const stack = inject('stack');

describe('topic provisioning', () => {
  const kafka = createKafkaClient({ brokers: stack.kafkaBrokers, clientId: 'provision-test', logger });
  const compacted = uniqueName('t-defs');
  const plain = uniqueName('t-events');
  const topics = [
    { name: compacted, partitions: 2, retentionMs: -1, cleanupPolicy: 'compact' as const },
    { name: plain, partitions: 3, retentionMs: 86_400_000, cleanupPolicy: 'delete' as const },
  ];
  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [compacted, plain, `${compacted}.dlq`, `${plain}.dlq`] });
    await admin.disconnect();
  });

  it('creates missing topics with their dead-letter topics and configs, and is idempotent', async () => {
    const first = await provisionTopics({ kafka, topics, logger });
    expect(first.created.sort()).toEqual([compacted, `${compacted}.dlq`, plain, `${plain}.dlq`].sort());
    const second = await provisionTopics({ kafka, topics, logger });
    expect(second.created).toEqual([]);
    expect(second.existing).toHaveLength(4);
    expect(second.mismatched).toEqual([]);

    const admin = kafka.admin();
    await admin.connect();
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: compacted, configNames: ['cleanup.policy', 'retention.ms'] },
      ],
    });
    const metadata = await admin.fetchTopicMetadata({ topics: [plain] });
    await admin.disconnect();
    const configs = Object.fromEntries(
      (resources[0]?.configEntries ?? []).map((c) => [c.configName, c.configValue]),
    );
    expect(configs).toEqual({ 'cleanup.policy': 'compact', 'retention.ms': '-1' });
    expect(metadata.topics[0]?.partitions).toHaveLength(3);
  });

  it('reports an existing topic whose partition count differs from the catalogue', async () => {
    const result = await provisionTopics({
      kafka,
      topics: [{ ...topics[1]!, partitions: 6 }],
      withDeadLetters: false,
      logger,
    });
    expect(result.mismatched).toEqual([{ topic: plain, partitions: 3, expected: 6 }]);
  });
});
