import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import type { Contracts, SchemaName, SchemaTypes, TopicSpec } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import { ATTR, startSpan } from '@openpenpal/telemetry';
import type { Kafka, Message, Producer as KafkaProducer, RecordMetadata } from 'kafkajs';
import type { Logger } from 'pino';
import { HEADERS } from './headers.ts';
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
}

export interface Producer {
  connect(): Promise<void>;
  /** Encodes each value with its topic's schema and sends them; resolves once all replicas have them (acks=all). */
  send<S extends SchemaName>(
    binding: TopicBinding<S>,
    messages: readonly OutgoingMessage<SchemaTypes[S]>[],
  ): Promise<RecordMetadata[]>;
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

/**
 * An idempotent producer with acks=all. One request in flight per broker connection keeps the
 * send order of a key even when a request is retried (kafkajs does not reorder retried batches).
 */
export function createProducer({ kafka, contracts, logger }: ProducerOptions): Producer {
  const producer: KafkaProducer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  let connecting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  const connect = () => (connecting ??= producer.connect());

  const sendRaw = async (topic: string, messages: Message[]) => {
    if (closing) throw new SchedulerError('SHUTTING_DOWN', `producer is closed; cannot send to ${topic}`);
    await connect();
    return producer.send({ topic, acks: -1, messages });
  };

  return {
    connect,
    send: (binding, messages) =>
      startSpan(
        `${binding.topic} publish`,
        async (span) => {
          const codec = contracts.codec(binding.schema);
          const encoded: Message[] = messages.map((message) => {
            const headers: Record<string, string | Buffer> = {
              ...message.headers,
              [HEADERS.messageId]: message.messageId ?? randomUUID(),
              [HEADERS.schema]: binding.schema,
            };
            injectTraceContext(headers);
            return {
              key: message.key,
              value: message.value === null ? null : codec.encode(message.value),
              headers,
            };
          });
          span.setAttribute(ATTR.messagingBatchSize, messages.length);
          return sendRaw(binding.topic, encoded);
        },
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            [ATTR.messagingSystem]: 'kafka',
            [ATTR.messagingOperation]: 'publish',
            [ATTR.messagingDestination]: binding.topic,
            [ATTR.schema]: binding.schema,
          },
        },
      ),
    sendRaw,
    close: () =>
      (closing ??= (async () => {
        if (connecting) await connecting.catch(() => undefined);
        await producer.disconnect();
        logger.debug('producer closed');
      })()),
  };
}
