import type { ExecutionEvent, TaskTrigger } from '@openpenpal/contracts';
import type { Producer, TopicBinding } from '@openpenpal/messaging';

/** A trigger read back, with the topic it was on. */
export interface ReadTrigger {
  topic: string;
  trigger: TaskTrigger;
}

/** Where the ticker's output goes (Kafka in production), and how it reads its own recent triggers back. */
export interface FirePublisher {
  /** Resolves once Kafka acknowledged every trigger (acks=all). */
  sendTriggers(topic: string, triggers: readonly TaskTrigger[]): Promise<void>;
  sendEvents(events: readonly ExecutionEvent[]): Promise<void>;
  /** Triggers on these topics written at or after `since` (epoch ms), for reconciliation. */
  readTriggers(topics: readonly string[], since: number): Promise<ReadTrigger[]>;
}

export interface KafkaPublisherOptions {
  producer: Producer;
  eventsTopic: string;
  /** Most messages in one produce request; bigger groups go in several. */
  maxBatch: number;
  readTriggers: FirePublisher['readTriggers'];
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function createKafkaPublisher(options: KafkaPublisherOptions): FirePublisher {
  const { producer, maxBatch } = options;
  const events: TopicBinding<'ExecutionEvent'> = { topic: options.eventsTopic, schema: 'ExecutionEvent' };
  return {
    sendTriggers: async (topic, triggers) => {
      const binding: TopicBinding<'TaskTrigger'> = { topic, schema: 'TaskTrigger' };
      // The execution id is the logical message id, so a re-sent trigger carries the same one.
      await Promise.all(
        chunks(triggers, maxBatch).map((part) =>
          producer.send(
            binding,
            part.map((value) => ({ key: value.task_id, value, messageId: value.execution_id })),
          ),
        ),
      );
    },
    sendEvents: async (list) => {
      await Promise.all(
        chunks(list, maxBatch).map((part) =>
          producer.send(
            events,
            part.map((value) => ({ key: value.execution_id, value, messageId: value.event_id })),
          ),
        ),
      );
    },
    readTriggers: options.readTriggers,
  };
}
