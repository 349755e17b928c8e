import { dlqTopicName, DLQ_RETENTION_MS } from '@openpenpal/contracts';
import { SchedulerError, toError } from '@openpenpal/errors';
import { retry, sleep } from '@openpenpal/timing';
import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
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

/** The broker default largest record batch (message.max.bytes) a source topic takes. */
const SOURCE_MAX_MESSAGE_BYTES = 1_048_588;
/**
 * What a dead-letter topic takes: its source's largest record plus room for the `dlq.*` headers
 * (bounded to about 6 KB by the messaging layer), so a dead letter of any message that fitted its
 * source topic fits its DLQ.
 */
export const DLQ_MAX_MESSAGE_BYTES = SOURCE_MAX_MESSAGE_BYTES + 64 * 1024;

function topicConfig(
  topic: TopicToProvision & { maxMessageBytes?: number },
  replication: { factor: number; minInsync: number },
): ITopicConfig {
  return {
    topic: topic.name,
    numPartitions: topic.partitions,
    replicationFactor: replication.factor,
    configEntries: [
      { name: 'cleanup.policy', value: topic.cleanupPolicy },
      { name: 'retention.ms', value: String(topic.retentionMs) },
      { name: 'min.insync.replicas', value: String(replication.minInsync) },
      ...(topic.maxMessageBytes ? [{ name: 'max.message.bytes', value: String(topic.maxMessageBytes) }] : []),
    ],
  };
}

/** Resolves once every partition of every topic has a leader (another process may have created them). */
async function waitForLeaders(admin: Admin, topics: readonly string[], logger: Logger): Promise<void> {
  await retry(
    async () => {
      const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
      const leaderless = metadata.topics.filter(
        (t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0),
      );
      if (leaderless.length > 0) {
        throw new Error(`no leader yet for ${leaderless.map((t) => t.name).join(', ')}`);
      }
    },
    {
      initialDelayMs: 100,
      maxDelayMs: 1_000,
      attempts: 40,
      onRetry: (error, attempt) =>
        logger.debug({ err: toError(error), attempt }, 'waiting for topic leaders'),
    },
  );
}

/**
 * Creates the topics that do not exist yet, each with its dead-letter topic, waits until every
 * partition of every topic has a leader, and reports the rest. Idempotent: running it again (or
 * from several services at once) changes nothing. Retriable broker errors (a broker still
 * starting, metadata not yet propagated) are retried with backoff.
 */
export async function provisionTopics(options: {
  kafka: Kafka;
  topics: readonly TopicToProvision[];
  withDeadLetters?: boolean;
  /** Copies of each partition (default 1, for one broker; 3 in production). */
  replicationFactor?: number;
  /** Replicas that must have a write before it is acknowledged (default 1; 2 in production). */
  minInsyncReplicas?: number;
  logger: Logger;
}): Promise<ProvisionResult> {
  const wanted = new Map<string, TopicToProvision & { maxMessageBytes?: number }>();
  for (const topic of options.topics) {
    wanted.set(topic.name, topic);
    if (options.withDeadLetters ?? true) {
      const name = dlqTopicName(topic.name);
      wanted.set(name, {
        name,
        partitions: topic.partitions,
        retentionMs: DLQ_RETENTION_MS,
        cleanupPolicy: 'delete',
        maxMessageBytes: DLQ_MAX_MESSAGE_BYTES,
      });
    }
  }
  const replication = { factor: options.replicationFactor ?? 1, minInsync: options.minInsyncReplicas ?? 1 };
  const admin = options.kafka.admin();
  await admin.connect();
  try {
    return await retry(
      async () => {
        const existingNames = new Set(await admin.listTopics());
        const missing = [...wanted.values()].filter((t) => !existingNames.has(t.name));
        if (missing.length > 0) {
          // createTopics reports false (not an error) for topics another process created meanwhile.
          await admin.createTopics({
            topics: missing.map((t) => topicConfig(t, replication)),
            waitForLeaders: true,
          });
        }
        await waitForLeaders(admin, [...wanted.keys()], options.logger);
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
        for (const m of mismatched)
          options.logger.warn(m, 'topic partition count differs from the catalogue');
        options.logger.info({ created: missing.length, existing: existing.length }, 'topics provisioned');
        return { created: missing.map((t) => t.name), existing, mismatched };
      },
      {
        initialDelayMs: 200,
        maxDelayMs: 2_000,
        attempts: 10,
        // kafkajs marks errors worth another try (a broker not ready, a leader moving) as retriable.
        shouldRetry: (error) => (error as { retriable?: unknown }).retriable === true,
        onRetry: (error, attempt) =>
          options.logger.warn({ err: toError(error), attempt }, 'topic provisioning failed; retrying'),
      },
    );
  } finally {
    await admin.disconnect();
  }
}

/**
 * Resolves once every topic exists with a leader for each partition; rejects after `timeoutMs`
 * with a SchedulerError naming the missing topics and who creates them (`owners`).
 */
export async function waitForTopics(options: {
  kafka: Kafka;
  topics: readonly string[];
  owners: ReadonlyMap<string, string>;
  timeoutMs: number;
  logger: Logger;
}): Promise<void> {
  if (options.topics.length === 0) return;
  const admin = options.kafka.admin();
  await admin.connect();
  const deadline = Date.now() + options.timeoutMs;
  let lastLog = 0;
  try {
    for (;;) {
      const existing = new Set(await admin.listTopics());
      const missing = options.topics.filter((topic) => !existing.has(topic));
      if (missing.length === 0) {
        await waitForLeaders(admin, options.topics, options.logger);
        return;
      }
      const described = missing.map(
        (topic) => `${topic} (created by ${options.owners.get(topic) ?? 'its owner'})`,
      );
      if (Date.now() > deadline) {
        throw new SchedulerError(
          'DEPENDENCY_UNAVAILABLE',
          `topics missing after ${options.timeoutMs} ms: ${described.join(', ')}; start their owners or run topics:provision`,
          { details: { missing } },
        );
      }
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        options.logger.warn({ missing: described }, 'waiting for topics another service creates');
      }
      await sleep(500);
    }
  } finally {
    await admin.disconnect();
  }
}
