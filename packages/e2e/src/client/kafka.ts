import { randomUUID } from 'node:crypto';
import { createContracts, findTopic, type SchemaName, type SchemaTypes } from '@openpenpal/contracts';
import { waitFor } from '@openpenpal/test-kit';
import { Kafka, logLevel, type Producer } from 'kafkajs';

export interface Observed {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** The value decoded with the topic's catalogue schema; the raw bytes for a `.dlq` topic. */
  value: unknown;
  headers: Record<string, string>;
  timestamp: number;
}

export interface TopicWatch {
  readonly messages: readonly Observed[];
  /** Waits until `match` holds for at least `count` messages (1 by default); returns those. */
  waitFor(
    match: (message: Observed) => boolean,
    options?: { count?: number; timeoutMs?: number; what?: string },
  ): Promise<Observed[]>;
  close(): Promise<void>;
}

/**
 * Kafka as another OpenPenPal service sees it: producing Avro values (single-object encoding, the
 * catalogue's key, a `message-id` header) and reading topics with the published schemas.
 */
export interface KafkaSide {
  send<S extends SchemaName>(
    topic: string,
    schema: S,
    messages: { key: string; value: SchemaTypes[S]; messageId?: string }[],
  ): Promise<void>;
  /** Reads `topics` from their ends as of now (nothing older), in a group of its own. */
  watch(topics: readonly string[]): Promise<TopicWatch>;
  close(): Promise<void>;
}

function headerText(value: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  const last = Array.isArray(value) ? value.at(-1) : value;
  return last?.toString();
}

/** A kafkajs client for the stack's brokers, with its SASL login when the stack has one. */
export function kafkaFromStackEnv(stackEnv: Record<string, string>, clientId = 'e2e'): Kafka {
  const mechanism = stackEnv.KAFKA_SASL_MECHANISM;
  return new Kafka({
    clientId,
    brokers: (stackEnv.KAFKA_BROKERS ?? '').split(',').filter(Boolean),
    logLevel: logLevel.NOTHING,
    // Retries at least every second: after a broker restart the suite is never what holds things back.
    retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 10 },
    ...(mechanism
      ? {
          sasl: {
            mechanism: mechanism as 'scram-sha-256',
            username: stackEnv.KAFKA_SASL_USERNAME ?? '',
            password: stackEnv.KAFKA_SASL_PASSWORD ?? '',
          },
        }
      : {}),
  });
}

export function createKafkaSide(stackEnv: Record<string, string>): KafkaSide {
  const kafka = kafkaFromStackEnv(stackEnv);
  const contracts = createContracts();
  let producer: Producer | undefined;
  const watches = new Set<TopicWatch>();

  const decoder = (topic: string) => {
    const spec = findTopic(topic);
    if (!spec) return (bytes: Buffer) => bytes;
    const codec = contracts.codec(spec.valueSchema);
    return (bytes: Buffer) => codec.decode(bytes);
  };

  const watch = async (topics: readonly string[]): Promise<TopicWatch> => {
    const groupId = `e2e-watch-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const topic of topics) {
        const ends = await admin.fetchTopicOffsets(topic);
        await admin.setOffsets({
          groupId,
          topic,
          partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
        });
      }
    } finally {
      await admin.disconnect();
    }
    const messages: Observed[] = [];
    const decoders = new Map(topics.map((topic) => [topic, decoder(topic)]));
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics] });
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
    });
    await consumer.run({
      eachMessage: ({ topic, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          const text = headerText(value);
          if (text !== undefined) headers[name] = text;
        }
        const decode = decoders.get(topic);
        messages.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value === null ? null : decode ? decode(message.value) : message.value,
          headers,
          timestamp: Number(message.timestamp),
        });
        return Promise.resolve();
      },
    });
    await waitFor(() => joined, {
      what: `the watch of ${topics.join(', ')} to join its group`,
      timeoutMs: 30_000,
    });
    let closing: Promise<void> | undefined;
    const handle: TopicWatch = {
      messages,
      waitFor: async (match, options = {}) => {
        const count = options.count ?? 1;
        const found = () => messages.filter(match);
        await waitFor(() => found().length >= count, {
          what: options.what ?? `${count} matching message(s) on ${topics.join(', ')}`,
          timeoutMs: options.timeoutMs ?? 60_000,
          intervalMs: 50,
          describe: () => ({ matching: found().length, seen: messages.length }),
        });
        return found();
      },
      close: () => (closing ??= consumer.disconnect()),
    };
    watches.add(handle);
    return handle;
  };

  return {
    send: async (topic, schema, messages) => {
      if (!producer) {
        producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
      }
      const codec = contracts.codec(schema);
      await producer.send({
        topic,
        acks: -1,
        messages: messages.map((m) => ({
          key: m.key,
          value: codec.encode(m.value),
          headers: { 'message-id': m.messageId ?? randomUUID(), schema },
        })),
      });
    },
    watch,
    close: async () => {
      await Promise.all([...watches].map((w) => w.close()));
      await producer?.disconnect();
    },
  };
}
