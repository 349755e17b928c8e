import { Kafka, logLevel, type ITopicConfig } from 'kafkajs';
import { uniqueName } from './names.ts';
import type { StackEnv } from './stack-env.ts';

export interface TopicRequest {
  partitions?: number;
  configEntries?: ITopicConfig['configEntries'];
}

export interface KafkaTestContext {
  kafka: Kafka;
  brokers: string[];
  /** The unique topic name created for each requested label. */
  topics: Record<string, string>;
  /** A consumer group id no other test uses. */
  groupId(label?: string): string;
  /** Deletes the topics; safe to call twice. */
  close(): Promise<void>;
}

export function testKafkaClient(stack: StackEnv, clientId: string = uniqueName('test')): Kafka {
  return new Kafka({ clientId, brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });
}

/** Creates one uniquely named topic per label (default 3 partitions) and waits for its leaders. */
export async function createKafkaTestContext(
  stack: StackEnv,
  requests: Record<string, TopicRequest | number>,
): Promise<KafkaTestContext> {
  const kafka = testKafkaClient(stack);
  const topics: Record<string, string> = {};
  const configs: ITopicConfig[] = [];
  for (const [label, request] of Object.entries(requests)) {
    const spec = typeof request === 'number' ? { partitions: request } : request;
    const topic = uniqueName(`t-${label}`);
    topics[label] = topic;
    configs.push({
      topic,
      numPartitions: spec.partitions ?? 3,
      replicationFactor: 1,
      ...(spec.configEntries ? { configEntries: spec.configEntries } : {}),
    });
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: configs, waitForLeaders: true });
    // On a busy broker a partition can still lack a leader in the metadata a new client reads
    // ("This server does not host this topic-partition"): wait until every one has it.
    const names = configs.map((config) => config.topic);
    for (let attempt = 0; names.length > 0; attempt++) {
      const metadata = await admin.fetchTopicMetadata({ topics: names }).catch(() => ({ topics: [] }));
      const ready =
        metadata.topics.length === names.length &&
        metadata.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (ready) break;
      if (attempt >= 100) throw new Error(`test topics without leaders after 10 s: ${names.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await admin.disconnect();
  }
  let closed = false;
  return {
    kafka,
    brokers: stack.kafkaBrokers,
    topics,
    groupId: (label = 'group') => uniqueName(`g-${label}`),
    close: async () => {
      if (closed) return;
      closed = true;
      const cleanup = kafka.admin();
      await cleanup.connect();
      try {
        await cleanup.deleteTopics({ topics: Object.values(topics) });
      } finally {
        await cleanup.disconnect();
      }
    },
  };
}
