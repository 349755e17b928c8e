import { randomUUID } from 'node:crypto';
import { createContracts, type TaskTrigger } from '@openpenpal/contracts';
import { sampleTrigger } from '@openpenpal/contracts/samples';
import { createKafkaTestContext, type KafkaTestContext, type StackEnv } from '@openpenpal/test-kit';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { pino } from 'pino';
import { createKafkaClient, createProducer, type Producer, type TopicBinding } from '../src/index.ts';

export const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
export const contracts = createContracts();

export interface MessagingTest {
  ctx: KafkaTestContext;
  kafka: Kafka;
  producer: Producer;
  binding: TopicBinding<'TaskTrigger'>;
  close(): Promise<void>;
}

/** A test topic for TaskTrigger values (plus its DLQ), a Kafka client and a producer. */
export async function setupMessagingTest(stack: StackEnv, partitions = 3): Promise<MessagingTest> {
  const ctx = await createKafkaTestContext(stack, { main: partitions });
  const topic = ctx.topics.main!;
  // The DLQ needs the exact name <topic>.dlq, so it is created by hand next to the unique topic.
  const admin = ctx.kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: `${topic}.dlq`, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const kafka = createKafkaClient({ brokers: stack.kafkaBrokers, clientId: `test-${topic}`, logger });
  const producer = createProducer({ kafka, contracts, logger });
  await producer.connect();
  return {
    ctx,
    kafka,
    producer,
    binding: { topic, schema: 'TaskTrigger' },
    close: async () => {
      await producer.close();
      const cleanup = ctx.kafka.admin();
      await cleanup.connect();
      await cleanup.deleteTopics({ topics: [`${topic}.dlq`] }).catch(() => undefined);
      await cleanup.disconnect();
      await ctx.close();
    },
  };
}

/** A trigger of `taskId`'s attempt `attempt` (the shared contract sample). */
export function trigger(taskId: string, attempt: number, overrides: Partial<TaskTrigger> = {}): TaskTrigger {
  return sampleTrigger({ task_id: taskId, task_name: `task ${taskId}`, attempt, ...overrides });
}

/** Reads every message of a topic from the beginning until `count` arrived (or the timeout). */
export async function readAll(
  kafka: Kafka,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: KafkaMessage[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`only ${seen.length}/${count} messages on ${topic}`)),
      timeoutMs,
    );
    void consumer.run({
      eachMessage: ({ message }) => {
        seen.push(message);
        if (seen.length >= count) {
          clearTimeout(timer);
          resolve();
        }
        return Promise.resolve();
      },
    });
  });
  await consumer.disconnect();
  return seen;
}

/** The group's committed offsets of a topic, by partition. */
export async function committedOffsets(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<Record<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
