// The consumer side of bench/visibility.ts, in a process of its own (forked with IPC), so that
// what it measures is not delayed by the ticker's own work on the benchmark process's event loop.
// argv[2]: JSON { brokers, topic, partitions, probeEveryMs, groupId }. Messages: 'record' starts
// (or restarts) recording, 'take' answers { triggerLag, probeDelay } and stops recording, 'close'
// disconnects and exits.
import { createContracts } from '@openpenpal/contracts';
import { createKafkaClient } from '@openpenpal/messaging';
import { pino } from 'pino';

const options = JSON.parse(process.argv[2] ?? '{}') as {
  brokers: string[];
  topic: string;
  partitions: number;
  probeEveryMs: number;
  groupId: string;
};
const PROBE = 'bench-probe-sent';
const codec = createContracts().codec('TaskTrigger');
const kafka = createKafkaClient({
  brokers: options.brokers,
  clientId: options.groupId,
  logger: pino({ level: 'silent' }),
});

let recording = false;
let triggerLag: number[] = [];
let probeDelay: number[] = [];
const consumer = kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: 20 });
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
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
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

process.on('message', (command: string) => {
  if (command === 'record') {
    triggerLag = [];
    probeDelay = [];
    recording = true;
    process.send?.({ ok: true });
  } else if (command === 'take') {
    recording = false;
    process.send?.({ triggerLag, probeDelay });
  } else if (command === 'close') {
    stop.abort();
    void (async () => {
      await probing;
      await producer.disconnect();
      await consumer.disconnect();
      process.exit(0);
    })();
  }
});
process.send?.({ ready: true });
