// pnpm bench:messaging — produce and consume throughput of @openpenpal/messaging against bare
// kafkajs on the same broker, interleaved round by round; writes docs/benchmarks/messaging.json.
// Both sides do the same application work: the bare producer Avro-encodes each value and the
// bare consumer decodes each value and awaits the same no-op async handler per message, so the
// ratio is what the layer adds (typing, headers, tracing,
// retries, dead letters, commit bookkeeping).
// Options (env): BENCH_MESSAGES (default 200000), BENCH_ROUNDS (5), BENCH_BATCH (500).
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createContracts, type TaskTrigger } from '@openpenpal/contracts';
import { findWorkspaceRoot, loadStackEnv, uniqueName } from '@openpenpal/test-kit';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { pino } from 'pino';
import {
  createConsumerRunner,
  createKafkaClient,
  createProducer,
  subscription,
  type TopicBinding,
} from '../src/index.ts';
import { noDelaySocketFactory } from '../src/socket.ts';
import { machineInfo, median } from './machine.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const TARGET_RATIO = 0.8;

const stack = loadStackEnv();
if (!stack) throw new Error('no stack: run `pnpm stack:up` first');
const logger = pino({ level: 'warn' });
const contracts = createContracts();
const codec = contracts.codec('TaskTrigger');
// The same socket as the layer's client (TCP_NODELAY): the ratio measures the layer, not Nagle.
const bare = new Kafka({
  clientId: 'bench-bare',
  brokers: stack.kafkaBrokers,
  logLevel: logLevel.NOTHING,
  socketFactory: noDelaySocketFactory,
});
const layerKafka = createKafkaClient({ brokers: stack.kafkaBrokers, clientId: 'bench-layer', logger });

const value = (i: number): TaskTrigger => ({
  execution_id: randomUUID(),
  task_id: `task-${i % 100}`,
  task_type: 'letter_cleanup',
  task_name: 'Letter Status Cleanup',
  timezone: 'Asia/Shanghai',
  nominal_time: 1_767_225_600_000 + i,
  fire_time: 1_767_225_600_003 + i,
  attempt: 1,
  max_retries: 3,
  timeout_secs: 1800,
  payload: '{"days_old":7,"target_status":"draft_cleanup"}',
  source: 'cron',
  fencing_token: 42,
});
const values = Array.from({ length: MESSAGES }, (_, i) => value(i));
const valueBytes = codec.encode(value(0)).length;

async function createTopic(): Promise<string> {
  const topic = uniqueName('bench-messaging');
  const admin = bare.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
  return topic;
}

async function deleteTopics(topics: string[]): Promise<void> {
  const admin = bare.admin();
  await admin.connect();
  await admin.deleteTopics({ topics });
  await admin.disconnect();
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function produceBare(topic: string): Promise<number> {
  const producer = bare.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const ms = await timed(async () => {
    for (let i = 0; i < MESSAGES; i += BATCH) {
      const messages: Message[] = values.slice(i, i + BATCH).map((v) => ({
        key: v.task_id,
        value: codec.encode(v),
        headers: { 'message-id': randomUUID() },
      }));
      await producer.send({ topic, acks: -1, messages });
    }
  });
  await producer.disconnect();
  return ms;
}

async function produceLayer(topic: string): Promise<number> {
  const producer = createProducer({ kafka: layerKafka, contracts, logger });
  await producer.connect();
  const binding: TopicBinding<'TaskTrigger'> = { topic, schema: 'TaskTrigger' };
  const ms = await timed(async () => {
    for (let i = 0; i < MESSAGES; i += BATCH) {
      await producer.send(
        binding,
        values.slice(i, i + BATCH).map((v) => ({ key: v.task_id, value: v })),
      );
    }
  });
  await producer.close();
  return ms;
}

const noopHandler = (_value: TaskTrigger | null): Promise<void> => Promise.resolve();

/** Milliseconds from the first message handled to the last (group join excluded). */
async function consumeBare(topic: string): Promise<number> {
  const consumer = bare.consumer({ groupId: uniqueName('bench-bare'), maxWaitTimeInMs: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let count = 0;
  let first = 0;
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (first === 0) first = performance.now();
        for (const message of batch.messages) {
          // The same work as the layer's: decode the value and await the (async, no-op) handler.
          await noopHandler(message.value ? codec.decode(message.value) : null);
          payload.resolveOffset(message.offset);
          count += 1;
        }
        await consumer.commitOffsets([
          { topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() },
        ]);
        await payload.heartbeat();
        if (count >= MESSAGES) resolve(performance.now() - first);
      },
    });
  });
  const ms = await done;
  await consumer.disconnect();
  return ms;
}

async function consumeLayer(topic: string): Promise<number> {
  const producer = createProducer({ kafka: layerKafka, contracts, logger });
  let count = 0;
  let first = 0;
  let resolveDone: (ms: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  const runner = createConsumerRunner({
    kafka: layerKafka,
    contracts,
    producer,
    logger,
    groupId: uniqueName('bench-layer'),
    subscriptions: [
      subscription({ topic, schema: 'TaskTrigger' }, () => {
        if (first === 0) first = performance.now();
        count += 1;
        if (count === MESSAGES) resolveDone(performance.now() - first);
        return Promise.resolve();
      }),
    ],
  });
  await runner.start();
  const ms = await done;
  await runner.close();
  await producer.close();
  return ms;
}

const rounds: { produceBare: number; produceLayer: number; consumeBare: number; consumeLayer: number }[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const [a, b] = [await createTopic(), await createTopic()];
  // Alternate which side goes first so warm-up and broker state do not favour one of them.
  const order = round % 2 ? (['bare', 'layer'] as const) : (['layer', 'bare'] as const);
  const r = { produceBare: 0, produceLayer: 0, consumeBare: 0, consumeLayer: 0 };
  for (const side of order) {
    if (side === 'bare') r.produceBare = await produceBare(a);
    else r.produceLayer = await produceLayer(b);
  }
  for (const side of order) {
    if (side === 'bare') r.consumeBare = await consumeBare(a);
    else r.consumeLayer = await consumeLayer(b);
  }
  await deleteTopics([a, b]);
  rounds.push(r);
  console.log(
    `round ${round}:`,
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, `${Math.round(v)} ms`])),
  );
}

const rate = (ms: number) => Math.round((MESSAGES / ms) * 1000);
const summary = (bareKey: 'produceBare' | 'consumeBare', layerKey: 'produceLayer' | 'consumeLayer') => {
  const bareRate = rate(median(rounds.map((r) => r[bareKey])));
  const layerRate = rate(median(rounds.map((r) => r[layerKey])));
  const ratio = Math.round((layerRate / bareRate) * 1000) / 1000;
  return {
    bareMsgPerSec: bareRate,
    layerMsgPerSec: layerRate,
    ratio,
    targetRatio: TARGET_RATIO,
    met: ratio >= TARGET_RATIO,
  };
};
const root = findWorkspaceRoot();
const result = {
  benchmark: 'messaging',
  date: new Date().toISOString(),
  command: 'pnpm bench:messaging',
  machine: machineInfo(),
  versions: {
    kafkajs: (
      JSON.parse(readFileSync(`${root}/packages/messaging/node_modules/kafkajs/package.json`, 'utf8')) as {
        version: string;
      }
    ).version,
    kafkaBroker: process.env.KAFKA_VERSION ?? '4.4.0 (deploy/local)',
  },
  params: { messages: MESSAGES, rounds: ROUNDS, batch: BATCH, partitions: 3, valueBytes },
  produce: summary('produceBare', 'produceLayer'),
  consume: summary('consumeBare', 'consumeLayer'),
  rounds,
};
writeFileSync(`${root}/docs/benchmarks/messaging.json`, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify({ produce: result.produce, consume: result.consume }, null, 2));
