import { randomUUID } from 'node:crypto';
import { unionBranch } from '@openpenpal/contracts';
import { uniqueName } from '@openpenpal/test-kit';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import {
  Timeline,
  contracts,
  latenessStats,
  paced,
  processCpuMs,
  until,
  usedMemory,
  watchPersistence,
  type LatenessStats,
} from './common.ts';
import { fill, scheduleRequest, sendRequests, type OursContext } from './ours.ts';
import { watchSignals, type SignalRow } from './signals.ts';

async function messagesIn(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** (b) `count` items, all due at one instant, in the store of the running service: time to drain. */
export async function oursBacklog(ctx: OursContext, count: number, record: Buffer) {
  const before = await messagesIn(ctx.kafka, ctx.topics.target);
  const filling = Date.now();
  const dueAt = filling + 5_000 + count / 5;
  await fill(ctx.store, count, (i) => ({ id: `b-${i}`, dueAt, record }));
  const filled = Date.now();
  if (filled >= dueAt) throw new Error(`the backlog took ${filled - filling} ms to write; raise the margin`);
  const drained = await until(
    async () => {
      const { pending, inFlight } = await ctx.store.stats();
      return pending + inFlight === 0;
    },
    600_000,
    5,
  );
  const published = (await messagesIn(ctx.kafka, ctx.topics.target)) - before;
  if (published < count) throw new Error(`only ${published} of ${count} backlog messages reached the target`);
  return {
    messages: count,
    drainMs: drained - dueAt,
    msgPerSec: Math.round((count * 1000) / (drained - dueAt)),
    fillMsgPerSec: Math.round((count * 1000) / (filled - filling)),
  };
}

/**
 * A consumer that reads only what is produced after it returns: it starts at the end of the topics
 * (the earlier phases' hundreds of thousands of messages would otherwise be fetched and decoded
 * while the measured stream runs, taking CPU from the service) and has fetched once, so the end
 * offsets are fixed before the caller produces.
 */
async function freshConsumer(kafka: Kafka, topics: string[], onBatch: (payload: EachBatchPayload) => void) {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('bench-dq-read'), maxWaitTimeInMs: 20 });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: false });
  const fetched = new Promise<void>((resolve) => {
    const remove = consumer.on(consumer.events.FETCH, () => {
      remove();
      resolve();
    });
  });
  await consumer.run({
    eachBatch: (payload) => {
      onBatch(payload);
      return Promise.resolve();
    },
  });
  await fetched;
  return consumer;
}

export interface LatenessRun {
  produced: number;
  /** The service process's CPU time while it took in and dispatched the stream. */
  serviceCpu: { cpuMs: number; wallMs: number; cores: number; cpuUsPerMessage: number };
  /** DelayedMessageDispatched.lateness_ms: Kafka's acknowledgement of the publish minus the due time. */
  dispatch: LatenessStats;
  /** The same, only for messages due once the due rate was steady (after the first `spreadMs`). */
  dispatchSteady: LatenessStats;
  /** The same, only for messages already stored when they fell due (the dispatcher's share). */
  dispatchStoredInTime: LatenessStats;
  /** Receipt by a consumer of the target topic minus the due time (adds the consumer's fetch). */
  receipt: LatenessStats;
  /** DelayedMessageScheduled.occurred_at minus the time the request was produced. */
  intake: LatenessStats;
  redelivered: number;
  /** 5-second windows (seconds from the start of the stream) and Redis's background forks meanwhile. */
  timeline: {
    dispatchByDueTime: ReturnType<Timeline['rows']>;
    intakeByRequestTime: ReturnType<Timeline['rows']>;
    redisForks: { what: string; fromS: number; toS: number }[];
    /** Redis PING, Kafka acks=all produce and CPU, sampled every 200 ms (signals.ts). */
    signals: SignalRow[];
  };
  backgroundPending: number;
  backgroundBytesPerItem: number;
}

/**
 * (c) with (d): `background` far-future items in the service's store (their memory measured), then
 * `rate` requests a second for `seconds` through Kafka, each due within `spreadMs`; lateness from
 * the service's own dispatch events and from a consumer of the target topic.
 */
export async function oursLateness(
  ctx: OursContext,
  options: {
    rate: number;
    seconds: number;
    spreadMs: number;
    background: number;
    backgroundRecord: Buffer;
    payload: Buffer;
    traceparent: string;
  },
): Promise<LatenessRun> {
  const memoryBefore = await usedMemory(ctx.redis);
  const far = Date.now() + 86_400_000;
  await fill(ctx.store, options.background, (i) => ({
    id: randomUUID(),
    dueAt: far + i,
    record: options.backgroundRecord,
  }));
  const backgroundBytesPerItem =
    ((await usedMemory(ctx.redis)) - memoryBefore) / Math.max(1, options.background);

  const due = new Map<string, number>();
  const requested = new Map<string, number>();
  const intake: number[] = [];
  const dispatch: number[] = [];
  const steady: number[] = [];
  const receipt: number[] = [];
  let redelivered = 0;
  const dispatchTimeline = new Timeline();
  const scheduledAt = new Map<string, number>();
  const dispatched: { id: string; dueAt: number; lateness: number }[] = [];
  const intakeTimeline = new Timeline();
  let steadyFrom = Number.POSITIVE_INFINITY;
  let steadyTo = Number.POSITIVE_INFINITY;
  const codec = contracts.codec('DelayedMessageEvent');
  const events = await freshConsumer(ctx.kafka, [ctx.topics.events], ({ batch }) => {
    for (const message of batch.messages) {
      if (!message.key?.toString().startsWith('c-') || !message.value) continue;
      const event = codec.decode(message.value);
      const branch = unionBranch(event.event);
      if (branch.name === 'org.openpenpal.scheduler.DelayedMessageScheduled') {
        scheduledAt.set(event.message_id, event.occurred_at);
        const requestedAt = requested.get(event.message_id) ?? event.occurred_at;
        intake.push(event.occurred_at - requestedAt);
        intakeTimeline.add(requestedAt, event.occurred_at - requestedAt);
      }
      if (branch.name !== 'org.openpenpal.scheduler.DelayedMessageDispatched') continue;
      dispatch.push(branch.value.lateness_ms);
      dispatched.push({
        id: event.message_id,
        dueAt: branch.value.due_at,
        lateness: branch.value.lateness_ms,
      });
      dispatchTimeline.add(branch.value.due_at, branch.value.lateness_ms);
      if (branch.value.due_at >= steadyFrom && branch.value.due_at <= steadyTo)
        steady.push(branch.value.lateness_ms);
      if (branch.value.redelivered) redelivered += 1;
    }
  });
  const target = await freshConsumer(ctx.kafka, [ctx.topics.target], ({ batch }) => {
    const now = Date.now();
    for (const message of batch.messages) {
      // The dispatcher writes the delayed message id as `message-id`; the key is the task id.
      const dueAt = due.get(message.headers?.['message-id']?.toString() ?? '');
      if (dueAt !== undefined) receipt.push(now - dueAt);
    }
  });

  let produced = 0;
  const pid = ctx.service.child.pid ?? 0;
  const cpuBefore = processCpuMs(pid);
  const start = Date.now();
  const persistence = watchPersistence(ctx.redis, start);
  const signals = await watchSignals({
    redis: ctx.redis.duplicate(),
    kafka: ctx.kafka,
    topic: ctx.topics.probe,
    pid,
    start,
  });
  steadyFrom = start + options.spreadMs;
  steadyTo = start + options.seconds * 1000;
  await paced(options.rate, options.seconds, async (count, now) => {
    const requests = [];
    for (let i = 0; i < count; i += 1) {
      const id = `c-${produced++}`;
      const dueAt = now + Math.floor(Math.random() * options.spreadMs);
      due.set(id, dueAt);
      requested.set(id, now);
      requests.push(scheduleRequest(id, dueAt, ctx.topics.target, options.payload, options.traceparent));
    }
    await sendRequests(ctx, requests);
  });
  await until(
    () => Promise.resolve(dispatch.length >= produced && receipt.length >= produced),
    options.spreadMs + 120_000,
    100,
  );
  const cpuMs = processCpuMs(pid) - cpuBefore;
  const redisForks = await persistence.stop();
  const signalRows = await signals.stop();
  const wallMs = Date.now() - start;
  await events.disconnect();
  await target.disconnect();
  return {
    produced,
    serviceCpu: {
      cpuMs: Math.round(cpuMs),
      wallMs,
      cores: Math.round((cpuMs / wallMs) * 100) / 100,
      cpuUsPerMessage: Math.round((cpuMs * 1000) / produced),
    },
    dispatch: latenessStats(dispatch),
    dispatchSteady: latenessStats(steady),
    // Only messages that were in Redis before they fell due: the dispatcher's own lateness, without
    // the time a request waited in the intake.
    dispatchStoredInTime: latenessStats(
      dispatched
        .filter((d) => (scheduledAt.get(d.id) ?? Number.POSITIVE_INFINITY) <= d.dueAt)
        .map((d) => d.lateness),
    ),
    receipt: latenessStats(receipt),
    intake: latenessStats(intake),
    redelivered,
    timeline: {
      dispatchByDueTime: dispatchTimeline.rows(start),
      intakeByRequestTime: intakeTimeline.rows(start),
      redisForks,
      signals: signalRows,
    },
    backgroundPending: options.background,
    backgroundBytesPerItem,
  };
}
