import type { Contracts, SchemaName, SchemaTypes } from '@openpenpal/contracts';
import { uniqueName } from '@openpenpal/test-kit';
import type { Kafka } from 'kafkajs';

export interface ReadMessage<T> {
  key: string | null;
  value: T | null;
  headers: Record<string, string>;
}

/** Reads a topic from the beginning until `count` messages arrived (or fails after `timeoutMs`). */
export async function readTopic<S extends SchemaName>(
  kafka: Kafka,
  contracts: Contracts,
  topic: string,
  schema: S,
  count: number,
  timeoutMs = 30_000,
): Promise<ReadMessage<SchemaTypes[S]>[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('g-read'), maxWaitTimeInMs: 100 });
  const received: ReadMessage<SchemaTypes[S]>[] = [];
  const done = Promise.withResolvers<undefined>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          const last = Array.isArray(value) ? value.at(-1) : value;
          if (last !== undefined) headers[name] = last.toString();
        }
        received.push({
          key: message.key?.toString() ?? null,
          value: message.value === null ? null : contracts.codec(schema).decode(message.value),
          headers,
        });
        if (received.length >= count) done.resolve(undefined);
        return Promise.resolve();
      },
    });
    const timer = setTimeout(() => {
      done.reject(new Error(`read ${received.length} of ${count} messages from ${topic}`));
    }, timeoutMs);
    await done.promise.finally(() => {
      clearTimeout(timer);
    });
    return received;
  } finally {
    await consumer.disconnect();
  }
}
