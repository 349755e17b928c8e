import type { Contracts, TaskTrigger } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import { HEADERS, injectTraceContext } from '@openpenpal/messaging';
import { isTracingEnabled } from '@openpenpal/telemetry';
import type { Kafka, Message, Producer as KafkaProducer, TopicMessages } from 'kafkajs';
import type { Logger } from 'pino';

export interface TriggerSender {
  connect(): Promise<void>;
  /** Encodes every topic's triggers (values, headers, trace context) for one request. */
  encode(groups: ReadonlyMap<string, readonly TaskTrigger[]>): TopicMessages[];
  /** Sends encoded triggers in one produce request per broker; resolves on acks=all. */
  send(topicMessages: TopicMessages[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The firing hot path. `@openpenpal/messaging`'s producer sends one topic per call, and kafkajs
 * sends the calls one request at a time per connection, so ten trigger topics due at one instant
 * cost ten round trips (measured: 5.5 ms p50 / 83 ms p99 for 115 triggers over ten topics, against
 * 1.3 ms / 8 ms in one request). This sender puts all topics into one kafkajs `sendBatch` with the
 * messaging producer's settings and conventions: idempotent, acks=all, one request in flight,
 * Avro single-object values, `message-id` (the execution id) and `schema` headers, W3C trace
 * context in the headers (of the span active when they are encoded: the batch's `ticker fire`).
 */
export function createTriggerSender(options: {
  kafka: Kafka;
  contracts: Contracts;
  logger: Logger;
}): TriggerSender {
  const codec = options.contracts.codec('TaskTrigger');
  const producer: KafkaProducer = options.kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  let connecting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const connect = () => (connecting ??= producer.connect());

  const encode = (groups: ReadonlyMap<string, readonly TaskTrigger[]>): TopicMessages[] => {
    const tracing = isTracingEnabled();
    const topicMessages: TopicMessages[] = [];
    for (const [topic, triggers] of groups) {
      const messages: Message[] = triggers.map((trigger) => {
        const headers: Record<string, string | Buffer> = {
          [HEADERS.messageId]: trigger.execution_id,
          [HEADERS.schema]: 'TaskTrigger',
        };
        if (tracing) injectTraceContext(headers);
        return { key: trigger.task_id, value: codec.encode(trigger), headers };
      });
      topicMessages.push({ topic, messages });
    }
    return topicMessages;
  };

  return {
    connect,
    encode,
    send: async (topicMessages) => {
      if (closing) throw new SchedulerError('SHUTTING_DOWN', 'the trigger sender is closed');
      await connect();
      await producer.sendBatch({ acks: -1, topicMessages });
    },
    close: () =>
      (closing ??= (async () => {
        if (connecting) await connecting.catch(() => undefined);
        await producer.disconnect();
        options.logger.debug('trigger sender closed');
      })()),
  };
}
