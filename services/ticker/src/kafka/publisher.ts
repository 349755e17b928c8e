import type { ExecutionEvent, TaskTrigger } from '@openpenpal/contracts';
import type { Producer, TopicBinding } from '@openpenpal/messaging';
import type { TriggerSender } from './trigger-sender.ts';

/** A trigger read back, with the topic it was on. */
export interface ReadTrigger {
  topic: string;
  trigger: TaskTrigger;
}

interface PreparedTriggers {
  send(): Promise<void>;
}

/** Where the ticker's output goes (Kafka in production), and how it reads its own recent triggers back. */
export interface FirePublisher {
  /**
   * Encodes the triggers of every topic for one send; `send()` resolves once Kafka acknowledged
   * all of them (acks=all). Encoding ahead lets a batch be ready before its due instant.
   */
  prepareTriggers(groups: ReadonlyMap<string, readonly TaskTrigger[]>): PreparedTriggers;
  sendEvents(events: readonly ExecutionEvent[]): Promise<void>;
  /** Triggers on these topics written at or after `since` (epoch ms), for reconciliation. */
  readTriggers(topics: readonly string[], since: number): Promise<ReadTrigger[]>;
}

export interface KafkaPublisherOptions {
  /** For the execution events. */
  producer: Producer;
  triggers: TriggerSender;
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
    prepareTriggers: (groups) => {
      // One request for the whole instant, unless it holds more than maxBatch triggers.
      const requests = [new Map<string, TaskTrigger[]>()];
      let size = 0;
      for (const [topic, triggers] of groups) {
        for (const part of chunks(triggers, maxBatch)) {
          if (size + part.length > maxBatch && size > 0) {
            requests.push(new Map<string, TaskTrigger[]>());
            size = 0;
          }
          const request = requests.at(-1);
          request?.set(topic, [...(request.get(topic) ?? []), ...part]);
          size += part.length;
        }
      }
      const encoded = requests.filter((r) => r.size > 0).map((request) => options.triggers.encode(request));
      return {
        send: async () => {
          await Promise.all(encoded.map((e) => options.triggers.send(e)));
        },
      };
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
