// Counts what arrives on the run's topics (records and their key + value + header bytes) and the
// delay events by kind, in a consumer group of its own.
import { unionBranch } from '@openpenpal/contracts';
import type { Kafka } from 'kafkajs';
import { contracts } from '../common.ts';

interface TopicCount {
  records: number;
  /** Key + value + header names and values: what the application hands Kafka per record. */
  bytes: number;
}

export interface TopicMeter {
  topics: Record<string, TopicCount>;
  /** Delay events by record name (`DelayedMessageScheduled`, `DelayedMessageDispatched`, …). */
  events: Record<string, number>;
  close(): Promise<void>;
}

export async function startTopicMeter(
  kafka: Kafka,
  options: { topics: readonly string[]; eventsTopic: string; groupId: string },
): Promise<TopicMeter> {
  const topics: Record<string, TopicCount> = {};
  for (const topic of options.topics) topics[topic] = { records: 0, bytes: 0 };
  const events: Record<string, number> = {};
  const codec = contracts.codec('DelayedMessageEvent');
  const consumer = kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [...options.topics], fromBeginning: true });
  const joined = { at: 0 };
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined.at = Date.now();
  });
  await consumer.run({
    eachBatch: ({ batch }) => {
      const count = topics[batch.topic];
      if (!count) return Promise.resolve();
      for (const message of batch.messages) {
        count.records += 1;
        count.bytes += (message.key?.length ?? 0) + (message.value?.length ?? 0);
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          const values: (Buffer | string | undefined)[] = Array.isArray(value) ? value : [value];
          for (const one of values) count.bytes += Buffer.byteLength(name) + Buffer.byteLength(one ?? '');
        }
        if (batch.topic === options.eventsTopic && message.value) {
          const name = unionBranch(codec.decode(message.value).event).name.replace(/^.*\./, '');
          events[name] = (events[name] ?? 0) + 1;
        }
      }
      return Promise.resolve();
    },
  });
  const deadline = Date.now() + 60_000;
  while (joined.at === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return { topics, events, close: () => consumer.disconnect() };
}
