import { unionBranch, type Contracts } from '@openpenpal/contracts';
import { HEADERS } from '@openpenpal/messaging';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Ledger } from './ledger.ts';

export interface Observer {
  /** Resolves once both consumers joined their groups. */
  started: Promise<void>;
  /** Times kafkajs restarted a consumer after a crash (the broker went away). */
  readonly restarts: number;
  close(): Promise<void>;
}

/**
 * Reads the target topic and the delay events into the ledger, in groups of its own. A consumer
 * that restarts after the broker died reads again from its last commit, so every partition
 * offset is taken once: a copy counts as a duplicate only when the delay queue published the
 * id twice, never because the observer read a record twice.
 */
export function observe(options: {
  kafka: Kafka;
  contracts: Contracts;
  ledger: Ledger;
  targetTopic: string;
  eventsTopic: string;
  runId: string;
}): Observer {
  const { ledger } = options;
  const codec = options.contracts.codec('DelayedMessageEvent');
  let restarts = 0;

  const consumer = (name: string, topic: string, handle: (payload: EachBatchPayload) => void) => {
    const seen = new Map<number, bigint>();
    const created: Consumer = options.kafka.consumer({
      groupId: `fault-observer-${name}-${options.runId}`,
      maxWaitTimeInMs: 50,
      // Always come back after the broker returns; the harness must outlive every outage.
      retry: { retries: 10, restartOnFailure: () => Promise.resolve(true) },
    });
    created.on(created.events.CRASH, () => {
      restarts += 1;
    });
    const joined = new Promise<void>((resolve) => {
      const remove = created.on(created.events.GROUP_JOIN, () => {
        remove();
        resolve();
      });
    });
    const start = async () => {
      await created.connect();
      await created.subscribe({ topic, fromBeginning: true });
      await created.run({
        eachBatch: (payload) => {
          const { batch } = payload;
          const last = seen.get(batch.partition) ?? -1n;
          const fresh = batch.messages.filter((m) => BigInt(m.offset) > last);
          if (fresh.length > 0) {
            seen.set(batch.partition, BigInt(fresh.at(-1)?.offset ?? '-1'));
            handle({ ...payload, batch: { ...batch, messages: fresh } });
          }
          return Promise.resolve();
        },
      });
      await joined;
    };
    return { consumer: created, start };
  };

  const target = consumer('target', options.targetTopic, ({ batch }) => {
    const receivedAt = Date.now();
    for (const message of batch.messages) {
      const header = message.headers?.[HEADERS.messageId];
      const id = (Array.isArray(header) ? header.at(-1) : header)?.toString() ?? '';
      const seq = ledger.seqOf(id);
      if (seq === undefined) ledger.foreignCopy();
      else ledger.received(seq, receivedAt, Number(message.timestamp));
    }
  });

  const events = consumer('events', options.eventsTopic, ({ batch }) => {
    for (const message of batch.messages) {
      if (!message.value) continue;
      const event = codec.decode(message.value);
      const branch = unionBranch(event.event);
      if (branch.name === 'org.openpenpal.scheduler.DelayedMessageScheduled') {
        ledger.scheduledEvent(branch.value.schedule_outcome, event.occurred_at);
      } else if (branch.name === 'org.openpenpal.scheduler.DelayedMessageDispatched') {
        const seq = ledger.seqOf(event.message_id);
        if (seq !== undefined)
          ledger.dispatchedEvent(seq, branch.value.lateness_ms, branch.value.redelivered);
      } else if (branch.name === 'org.openpenpal.scheduler.DelayedMessageRejected') {
        ledger.scheduledEvent(`rejected:${branch.value.error_code}`, event.occurred_at);
      }
    }
  });

  return {
    started: Promise.all([target.start(), events.start()]).then(() => undefined),
    get restarts() {
      return restarts;
    },
    close: async () => {
      await Promise.all([target.consumer.disconnect(), events.consumer.disconnect()]);
    },
  };
}
