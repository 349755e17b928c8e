// The ticker benchmark's baseline: what the broker alone allows. The same triggers as the ticker
// sends (same tasks, topics, keys, Avro values and headers), prepared the same time ahead and
// handed at the same instants to a bare kafkajs producer's `sendBatch` (idempotent, acks=all, one
// request in flight: the messaging layer's settings) — no planning, no Redis, no events, no
// consumers. Fire lag = acknowledgement minus the instant, as for the ticker. kafkajs's request
// instrumentation splits each instant's lag into stages: timer wake-up, building the request
// (record batches, CRC), waiting for the connection, and the round trip to the broker.
import { createContracts, type TaskDefinition, type TaskTrigger } from '@openpenpal/contracts';
import type { createKafkaClient } from '@openpenpal/messaging';
import { systemClock } from '@openpenpal/timing';
import { triggerTopicFor } from '../src/definitions/task-spec.ts';
import { buildTrigger } from '../src/firing/events.ts';
import { cronExecutionId } from '../src/firing/ids.ts';

type Kafka = ReturnType<typeof createKafkaClient>;
type Compression = NonNullable<Parameters<ReturnType<Kafka['producer']>['sendBatch']>[0]['compression']>;
/** kafkajs's CompressionTypes.GZIP (the only codec it carries without a plug-in). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- kafkajs is not this package's dependency
const GZIP = 1 as Compression;

export interface BaselineOptions {
  kafka: Kafka;
  defs: readonly TaskDefinition[];
  /** Per-minute tasks: index → second of the minute they fire at; per-second tasks are absent. */
  secondOf: ReadonlyMap<string, number>;
  triggerPrefix: string;
  warmupSeconds: number;
  seconds: number;
  prepareAheadMs: number;
  /** Compress the baseline's batches with gzip (the ticker sends uncompressed). */
  gzip?: boolean;
}

/** Per instant: where its lag went (ms), from kafkajs's request events. */
export interface InstantStages {
  triggers: number;
  /** The timer woke this long after the instant. */
  wake: number;
  /** From the wake-up to kafkajs having built the request (encoding record batches). */
  build: number;
  /** Queued behind another request on the connection. */
  pending: number;
  /** Request written to the acknowledgement read (network, broker, acks=all). */
  roundTrip: number;
  /** The whole fire lag of the instant (ack − instant). */
  lag: number;
}

export interface BaselineRun {
  lags: Float64Array;
  count: number;
  stages: InstantStages[];
  largestBatch: number;
}

const contracts = createContracts();
const codec = contracts.codec('TaskTrigger');

function encodeInstant(options: BaselineOptions, nominal: number) {
  const second = new Date(nominal).getUTCSeconds();
  const byTopic = new Map<string, { key: string; value: Buffer; headers: Record<string, string> }[]>();
  let count = 0;
  for (const def of options.defs) {
    const at = options.secondOf.get(def.task_id);
    if (at !== undefined && at !== second) continue;
    const trigger: TaskTrigger = buildTrigger({
      def,
      executionId: cronExecutionId(def.task_id, nominal),
      nominal,
      fireTime: nominal,
      source: 'cron',
      fencingToken: 1,
      payload: def.payload,
    });
    const topic = triggerTopicFor(options.triggerPrefix, def.task_type);
    const message = {
      key: def.task_id,
      value: codec.encode(trigger),
      headers: { 'message-id': trigger.execution_id, schema: 'TaskTrigger' },
    };
    const list = byTopic.get(topic);
    if (list) list.push(message);
    else byTopic.set(topic, [message]);
    count += 1;
  }
  return { count, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) };
}

export async function runBaseline(options: BaselineOptions): Promise<BaselineRun> {
  const producer = options.kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  const last: { request?: { createdAt: number; pendingDuration: number; duration: number } } = {};
  producer.on(producer.events.REQUEST, (event) => {
    if (event.payload.apiName === 'Produce') last.request = event.payload;
  });
  // Read through a function: the listener sets it while sendBatch runs.
  const lastRequest = () => last.request;
  const lags = new Float64Array(Math.max(1, (options.seconds + 1) * options.defs.length));
  let count = 0;
  let largestBatch = 0;
  const stages: InstantStages[] = [];
  const first = Math.ceil(Date.now() / 1_000) * 1_000 + 1_000;
  const measureFrom = first + options.warmupSeconds * 1_000;
  const end = measureFrom + options.seconds * 1_000;
  try {
    for (let instant = first; instant < end; instant += 1_000) {
      await systemClock.sleepUntil(instant - options.prepareAheadMs);
      const { count: triggers, topicMessages } = encodeInstant(options, instant);
      await systemClock.sleepUntil(instant);
      const woke = Date.now();
      delete last.request;
      await producer.sendBatch({
        acks: -1,
        topicMessages,
        ...(options.gzip ? { compression: GZIP } : {}),
      });
      const ackAt = Date.now();
      if (instant < measureFrom) continue;
      largestBatch = Math.max(largestBatch, triggers);
      for (let i = 0; i < triggers && count < lags.length; i += 1) lags[count++] = ackAt - instant;
      const r = lastRequest();
      stages.push({
        triggers,
        wake: woke - instant,
        build: r ? r.createdAt - woke : Number.NaN,
        pending: r?.pendingDuration ?? Number.NaN,
        roundTrip: r?.duration ?? Number.NaN,
        lag: ackAt - instant,
      });
    }
  } finally {
    await producer.disconnect();
  }
  return { lags, count, stages, largestBatch };
}
