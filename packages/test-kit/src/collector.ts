import type { Kafka } from 'kafkajs';
import { uniqueName } from './names.ts';

export interface CollectedMessage<T> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** Decoded with `decode` when given; null for a tombstone. */
  value: T | null;
  /** The raw value bytes. */
  bytes: Buffer | null;
  headers: Record<string, string>;
  /** When the collector received it (epoch ms). */
  receivedAt: number;
  /** The broker's timestamp (epoch ms): when the producer sent it (CreateTime). */
  timestamp: number;
}

export interface TopicCollector<T> {
  /** Everything received so far, in arrival order (per partition in offset order). */
  messages: CollectedMessage<T>[];
  on(topic: string): CollectedMessage<T>[];
  /** Resolves once `count` messages (on `topic`, when given) arrived; fails after the timeout. */
  waitForCount(
    count: number,
    options?: { topic?: string; timeoutMs?: number },
  ): Promise<CollectedMessage<T>[]>;
  close(): Promise<void>;
}

function headerText(value: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  const last = Array.isArray(value) ? value.at(-1) : value;
  return last?.toString();
}

/**
 * Reads topics from the beginning into memory, in a group of its own, for assertions made after
 * the fact (never inside a handler). `decode` turns value bytes into values (a contracts codec).
 */
export async function collectTopics<T = Buffer>(
  kafka: Kafka,
  topics: readonly string[],
  decode?: (bytes: Buffer) => T,
): Promise<TopicCollector<T>> {
  const messages: CollectedMessage<T>[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName('g-collect'), maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  await consumer.run({
    eachBatch: ({ batch }) => {
      const receivedAt = Date.now();
      for (const message of batch.messages) {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          const text = headerText(value);
          if (text !== undefined) headers[name] = text;
        }
        const bytes = message.value;
        messages.push({
          topic: batch.topic,
          partition: batch.partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: bytes === null ? null : decode ? decode(bytes) : (bytes as T),
          bytes,
          headers,
          receivedAt,
          timestamp: Number(message.timestamp),
        });
      }
      return Promise.resolve();
    },
  });
  let closing: Promise<void> | undefined;
  const on = (topic: string) => messages.filter((m) => m.topic === topic);
  return {
    messages,
    on,
    waitForCount: async (count, options = {}) => {
      const timeoutMs = options.timeoutMs ?? 20_000;
      const deadline = Date.now() + timeoutMs;
      const current = () => (options.topic ? on(options.topic) : messages);
      while (current().length < count) {
        if (Date.now() > deadline) {
          throw new Error(
            `timed out after ${timeoutMs} ms: ${current().length}/${count} messages on ${options.topic ?? topics.join(', ')}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return current();
    },
    close: () => (closing ??= consumer.disconnect()),
  };
}
