import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import type { Contracts, SchemaName, SchemaTypes, TopicSpec } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import { ATTR, isTracingEnabled, startSpan } from '@openpenpal/telemetry';
import {
  Partitioners,
  type Kafka,
  type Message,
  type Producer as KafkaProducer,
  type RecordMetadata,
  type TopicMessages,
} from 'kafkajs';
import type { Logger } from 'pino';
import { HEADERS } from './headers.ts';
import { brokenProducerState } from './producer-state.ts';
import { splitBySize } from './request-size.ts';
import { injectTraceContext } from './tracing.ts';

/** A topic name bound to the root schema of its values. */
export interface TopicBinding<S extends SchemaName = SchemaName> {
  topic: string;
  schema: S;
}

/** The catalogue's binding for a topic; tests pass their own unique name. */
export function bindTopic<S extends SchemaName>(
  spec: TopicSpec & { valueSchema: S },
  name: string = spec.name,
): TopicBinding<S> {
  return { topic: name, schema: spec.valueSchema };
}

export interface OutgoingMessage<T> {
  key: string | null;
  /** `null` writes a tombstone (compacted topics only). */
  value: T | null;
  headers?: Record<string, string | Buffer>;
  /** The logical message id; a new UUID when omitted. Re-sends of one message must reuse it. */
  messageId?: string;
  /**
   * The partition, when the sender chose it ahead (`keyPartition`, the default partitioner's
   * choice); kafkajs's partitioner picks one at send time when omitted.
   */
  partition?: number;
}

/** One topic's messages of a multi-topic send. */
export interface TopicGroup<S extends SchemaName = SchemaName> {
  binding: TopicBinding<S>;
  messages: readonly OutgoingMessage<SchemaTypes[S]>[];
}

/** Messages of one topic, encoded and ready to send (values, `message-id`, `schema`, trace context). */
export type EncodedBatch = TopicMessages;

/** One message as Kafka takes it: key, value bytes, headers (what `sendRaw` and `sendEncoded` send). */
export type RawMessage = Message;

export interface Producer {
  connect(): Promise<void>;
  /** Encodes each value with its topic's schema and sends them; resolves once all replicas have them (acks=all). */
  send<S extends SchemaName>(
    binding: TopicBinding<S>,
    messages: readonly OutgoingMessage<SchemaTypes[S]>[],
  ): Promise<RecordMetadata[]>;
  /**
   * Sends messages for several topics in one produce request per broker (one round trip instead of
   * one per topic); resolves once all replicas have all of them.
   */
  sendMany(groups: readonly TopicGroup[]): Promise<RecordMetadata[]>;
  /**
   * Encodes messages now to send them later with `sendEncoded` (the ticker prepares a firing
   * instant's triggers ahead of time). The trace context is that of the span active now.
   */
  encode<S extends SchemaName>(
    binding: TopicBinding<S>,
    messages: readonly OutgoingMessage<SchemaTypes[S]>[],
  ): EncodedBatch;
  /** Sends encoded or raw batches of several topics in one produce request per broker. */
  sendEncoded(batches: readonly EncodedBatch[]): Promise<RecordMetadata[]>;
  /** Sends already-encoded messages as they are (dead letters, delayed messages falling due). */
  sendRaw(topic: string, messages: Message[]): Promise<RecordMetadata[]>;
  /** Disconnects; safe to call twice. */
  close(): Promise<void>;
}

export interface ProducerOptions {
  kafka: Kafka;
  contracts: Contracts;
  logger: Logger;
}

function publishAttributes(topics: string, schema: string) {
  return {
    [ATTR.messagingSystem]: 'kafka',
    [ATTR.messagingOperation]: 'publish',
    [ATTR.messagingDestination]: topics,
    [ATTR.schema]: schema,
  };
}

/**
 * An idempotent producer with acks=all. One request in flight per broker connection keeps the
 * send order of a key even when a request is retried (kafkajs does not reorder retried batches).
 */
export function createProducer({ kafka, contracts, logger }: ProducerOptions): Producer {
  const create = (): KafkaProducer =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // kafkajs 2's default, named so it does not warn at every start; keyPartition uses the same.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  let producer = create();
  let connecting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  // A failed connect is forgotten, so the next send tries again instead of failing forever.
  const connect = () =>
    (connecting ??= producer.connect().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    }));

  /** The current producer, connected (again, when it was replaced while connecting). */
  const ready = async (): Promise<KafkaProducer> => {
    for (;;) {
      const current = producer;
      await connect();
      if (current === producer) return current;
    }
  };

  /**
   * After an answer that broke the idempotent state (see producer-state.ts) the next send goes
   * through a new kafkajs producer — a new producer id, sequences from 0. Only the producer that
   * failed is replaced (sends in flight on it fail alike and must not replace its successor).
   * The messages of the failed send may be on the log already: a retry sends them again under the
   * same `message-id`, which consumers drop.
   */
  const replace = (failed: KafkaProducer, type: string) => {
    if (failed !== producer || closing) return;
    producer = create();
    connecting = undefined;
    logger.warn({ kafkaError: type }, 'idempotent producer state lost; replaced by a new producer');
    void failed.disconnect().catch(() => undefined);
  };

  /**
   * A send that failed because Kafka could not be reached in time (connection refused, request
   * timed out, kafkajs's retries used up on a retriable error) is DEPENDENCY_UNAVAILABLE, which
   * consumers treat as an outage and hold the partition for, rather than a failure of the message.
   */
  const classify = (what: string, error: unknown, used: KafkaProducer): unknown => {
    const broken = brokenProducerState(error);
    if (broken) {
      replace(used, broken);
      return new SchedulerError(
        'DEPENDENCY_UNAVAILABLE',
        `Kafka refused the send to ${what} (${broken}); the producer was replaced, send again`,
        { cause: error, details: { reason: 'producer_replaced', type: broken } },
      );
    }
    const name = (error as { name?: unknown }).name;
    const outage =
      (error as { retriable?: unknown }).retriable === true ||
      name === 'KafkaJSNumberOfRetriesExceeded' ||
      name === 'KafkaJSConnectionError' ||
      name === 'KafkaJSRequestTimeoutError' ||
      name === 'KafkaJSConnectionClosedError';
    if (!outage) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new SchedulerError(
      'DEPENDENCY_UNAVAILABLE',
      `Kafka did not take the send to ${what}: ${message}`,
      {
        cause: error,
      },
    );
  };

  /**
   * Sends in requests small enough for the broker (request-size.ts), one after another so each
   * partition keeps the given order. If a later request fails the earlier ones are on the log: the
   * caller's retry sends them again under the same `message-id`, which consumers drop.
   */
  const sendInRequests = async (used: KafkaProducer, batches: readonly TopicMessages[]) => {
    const results: RecordMetadata[] = [];
    for (const topicMessages of splitBySize(batches)) {
      results.push(...(await used.sendBatch({ acks: -1, topicMessages })));
    }
    return results;
  };

  const ensureOpen = (what: string) => {
    if (closing) throw new SchedulerError('SHUTTING_DOWN', `producer is closed; cannot send to ${what}`);
  };

  const sendRaw = async (topic: string, messages: Message[]) => {
    ensureOpen(topic);
    let used = producer;
    try {
      used = await ready();
      return await sendInRequests(used, [{ topic, messages }]);
    } catch (error) {
      throw classify(topic, error, used);
    }
  };

  const sendEncoded = async (batches: readonly EncodedBatch[]) => {
    const topics = batches.map((b) => b.topic).join(',');
    ensureOpen(topics);
    let used = producer;
    try {
      used = await ready();
      return await sendInRequests(used, batches);
    } catch (error) {
      throw classify(topics, error, used);
    }
  };

  const encode = <S extends SchemaName>(
    binding: TopicBinding<S>,
    messages: readonly OutgoingMessage<SchemaTypes[S]>[],
  ): EncodedBatch => {
    const codec = contracts.codec(binding.schema);
    // Whether an SDK is registered cannot change within one call; asking once keeps it off the loop.
    const tracing = isTracingEnabled();
    return {
      topic: binding.topic,
      messages: messages.map((message) => {
        const headers: Record<string, string | Buffer> = {
          ...message.headers,
          [HEADERS.messageId]: message.messageId ?? randomUUID(),
          [HEADERS.schema]: binding.schema,
        };
        if (tracing) injectTraceContext(headers);
        return {
          key: message.key,
          value: message.value === null ? null : codec.encode(message.value),
          headers,
          ...(message.partition === undefined ? {} : { partition: message.partition }),
        };
      }),
    };
  };

  return {
    connect,
    send: (binding, messages) =>
      startSpan(
        `${binding.topic} publish`,
        async (span) => {
          span.setAttribute(ATTR.messagingBatchSize, messages.length);
          const batch = encode(binding, messages);
          return sendRaw(binding.topic, batch.messages);
        },
        { kind: SpanKind.PRODUCER, attributes: publishAttributes(binding.topic, binding.schema) },
      ),
    sendMany: (groups) => {
      const topics = [...new Set(groups.map((g) => g.binding.topic))].join(',');
      const schemas = [...new Set(groups.map((g) => g.binding.schema))].join(',');
      return startSpan(
        `${topics} publish`,
        async (span) => {
          span.setAttribute(
            ATTR.messagingBatchSize,
            groups.reduce((sum, g) => sum + g.messages.length, 0),
          );
          return sendEncoded(groups.map((g) => encode(g.binding, g.messages)));
        },
        { kind: SpanKind.PRODUCER, attributes: publishAttributes(topics, schemas) },
      );
    },
    encode,
    sendEncoded,
    sendRaw,
    close: () =>
      (closing ??= (async () => {
        if (connecting) await connecting.catch(() => undefined);
        await producer.disconnect();
        logger.debug('producer closed');
      })()),
  };
}
