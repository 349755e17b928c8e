import { unionBranch, type Contracts } from '@openpenpal/contracts';
import { HEADERS } from '@openpenpal/messaging';
import { collectTopics, type CollectedMessage } from '@openpenpal/test-kit';
import type { Kafka } from 'kafkajs';
import type { DelayedCopy, TriggerCopy } from './records.ts';

/**
 * The run's consumer: the test kit's collector reads the delayed messages' target topic, the cron
 * tasks' trigger topic and the execution events in a group of its own, every record with its
 * headers. A consumer that rejoins after a broker died reads again from its last commit, so the
 * conversion keeps each topic-partition-offset once: a copy counted twice is one the services
 * wrote twice, never one the observer read twice.
 */
export interface Observer {
  delayedCopies(): DelayedCopy[];
  triggerCopies(): TriggerCopy[];
  /** TaskMissed events of the run's tasks by reason, and its TaskTriggered events. */
  executionEvents(): { missed: Record<string, number>; triggered: number; triggeredExecutions: number };
  close(): Promise<void>;
}

export interface ObservedTopics {
  target: string;
  triggers: string;
  events: string;
}

/** Each topic-partition-offset once, in arrival order. */
function onceEach(messages: readonly CollectedMessage<Buffer>[], topic: string): CollectedMessage<Buffer>[] {
  const seen = new Set<string>();
  return messages.filter((m) => {
    if (m.topic !== topic) return false;
    const at = `${m.partition}:${m.offset}`;
    if (seen.has(at)) return false;
    seen.add(at);
    return true;
  });
}

export function toDelayedCopies(messages: readonly CollectedMessage<Buffer>[], topic: string): DelayedCopy[] {
  return onceEach(messages, topic).map((m) => ({
    key: m.key ?? '',
    messageId: m.headers[HEADERS.messageId] ?? '',
    receivedAt: m.receivedAt,
    publishedAt: m.timestamp,
    partition: m.partition,
    offset: m.offset,
  }));
}

export async function observe(options: {
  kafka: Kafka;
  contracts: Contracts;
  topics: ObservedTopics;
  /** Whether a task id is one of the run's. */
  ours: (taskId: string) => boolean;
}): Promise<Observer> {
  const { topics } = options;
  const triggerCodec = options.contracts.codec('TaskTrigger');
  const eventCodec = options.contracts.codec('ExecutionEvent');
  const collector = await collectTopics(options.kafka, [topics.target, topics.triggers, topics.events]);
  return {
    delayedCopies: () => toDelayedCopies(collector.messages, topics.target),
    triggerCopies: () => {
      const copies: TriggerCopy[] = [];
      for (const m of onceEach(collector.messages, topics.triggers)) {
        if (!m.bytes) continue;
        const trigger = triggerCodec.decode(m.bytes);
        if (!options.ours(trigger.task_id)) continue;
        copies.push({
          taskId: trigger.task_id,
          nominalTime: trigger.nominal_time,
          fireTime: trigger.fire_time,
          messageId: m.headers[HEADERS.messageId] ?? '',
          executionId: trigger.execution_id,
          fencingToken: trigger.fencing_token,
          receivedAt: m.receivedAt,
          publishedAt: m.timestamp,
        });
      }
      return copies;
    },
    executionEvents: () => {
      const missed: Record<string, number> = {};
      let triggered = 0;
      const executions = new Set<string>();
      for (const m of onceEach(collector.messages, topics.events)) {
        if (!m.bytes) continue;
        const event = eventCodec.decode(m.bytes);
        if (!options.ours(event.task_id)) continue;
        const branch = unionBranch(event.event);
        if (branch.name === 'org.openpenpal.scheduler.TaskMissed') {
          missed[branch.value.reason] = (missed[branch.value.reason] ?? 0) + 1;
        } else if (branch.name === 'org.openpenpal.scheduler.TaskTriggered') {
          triggered += 1;
          executions.add(event.execution_id);
        }
      }
      return { missed, triggered, triggeredExecutions: executions.size };
    },
    close: () => collector.close(),
  };
}
