// What a consumer sees, next to what the producer was told. The fire lag is the acknowledgement
// (or, with transactional sends, the commit's answer) minus the nominal time; a consumer that reads
// committed sees a transactional trigger only once the coordinator has written the commit markers.
// This watcher reads one trigger topic as the handlers do (kafkajs's default: read committed) and
// records, per trigger, when it arrived minus its nominal time. It also writes a small probe
// message to that topic every few milliseconds, round-robin over its partitions, as another
// producer would (the delay queue publishes exact-time triggers to the same topics), and records
// its send-to-arrival delay: while a transaction is open on a partition, read-committed consumers
// stop at it, so a probe written then arrives only after the commit.
import { createContracts } from '@openpenpal/contracts';
import type { createKafkaClient } from '@openpenpal/messaging';

type Kafka = ReturnType<typeof createKafkaClient>;

const codec = createContracts().codec('TaskTrigger');
const PROBE = 'bench-probe-sent';

export interface VisibilityWatch {
  /** Starts (or restarts) recording; what arrived before is dropped. */
  record(): void;
  /** What was recorded since `record()`, in ms. */
  take(): { triggerLag: number[]; probeDelay: number[] };
  close(): Promise<void>;
}

export async function watchVisibility(options: {
  kafka: Kafka;
  topic: string;
  partitions: number;
  probeEveryMs: number;
  groupId: string;
}): Promise<VisibilityWatch> {
  let recording = false;
  let triggerLag: number[] = [];
  let probeDelay: number[] = [];
  const consumer = options.kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: 20 });
  await consumer.connect();
  await consumer.subscribe({ topics: [options.topic], fromBeginning: false });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      if (!recording) return;
      for (const message of batch.messages) {
        const sent = message.headers?.[PROBE];
        if (sent !== undefined) probeDelay.push(now - Number(sent.toString()));
        else if (message.value) triggerLag.push(now - codec.decode(message.value).nominal_time);
      }
      await Promise.resolve();
    },
  });
  const producer = options.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const stop = new AbortController();
  let n = 0;
  const probing = (async () => {
    while (!stop.signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, options.probeEveryMs));
      const partition = n++ % options.partitions;
      await producer
        .send({
          topic: options.topic,
          acks: -1,
          messages: [{ partition, value: null, headers: { [PROBE]: String(Date.now()) } }],
        })
        .catch(() => undefined);
    }
  })();
  return {
    record: () => {
      triggerLag = [];
      probeDelay = [];
      recording = true;
    },
    take: () => {
      recording = false;
      return { triggerLag, probeDelay };
    },
    close: async () => {
      stop.abort();
      await probing;
      await producer.disconnect();
      await consumer.disconnect();
    },
  };
}
