// The capacity model of docs/scaling.md: from measured per-message costs and stated assumptions,
// how many delay-queue and recorder instances, Redis Cluster primaries, delay-store shards and Kafka
// brokers a target rate and pending count need, and which limit binds.

/** What one delayed message costs, as `pnpm bench:capacity` measures it. */
export interface MessageCosts {
  /** Delay-queue CPU for intake plus dispatch, µs. */
  delayQueueCpuUs: number;
  /** Redis main-thread CPU for intake plus dispatch, µs. */
  redisCpuUs: number;
  /** Redis memory while pending, bytes. */
  pendingBytes: number;
  /** Redis memory after dispatch (the fired marker), bytes, kept for `firedTtlSeconds`. */
  firedBytes: number;
  /** Kafka log bytes on one replica: request, events, target record. */
  kafkaLogBytes: number;
  /** Recorder CPU per delayed message (its events), µs. */
  recorderCpuUs: number;
  /** Event-store rows per message and PostgreSQL bytes per message. */
  eventsPerMessage: number;
  postgresBytes: number;
}

export interface Assumptions {
  /** Share of one core a Node.js instance may use (one event loop), leaving headroom for bursts. */
  instanceCoreBudget: number;
  /** Share of one core a Redis primary's main thread may use. */
  redisCoreBudget: number;
  /** Data a Redis primary may hold, bytes (maxmemory, leaving room for a fork's copy-on-write). */
  redisDataBytesPerPrimary: number;
  /** How long fired markers are kept (DELAY_QUEUE_FIRED_TTL_MS), seconds. */
  firedTtlSeconds: number;
  /** Log bytes a broker may append per second, replicas included. */
  brokerAppendBytesPerSecond: number;
  replicationFactor: number;
  /** Event-store rows one PostgreSQL primary appends per second (with the recorder's batching). */
  postgresEventsPerSecond: number;
  /** Delay-store shards per Redis primary, so a rebalance or a resharding moves small pieces. */
  shardsPerPrimary: number;
}

/**
 * The planning figures docs/scaling.md states. Only the PostgreSQL rate is measured here
 * (`pnpm bench:recorder` on this machine); the others are conventional budgets to replace with
 * a measurement of the production hardware.
 */
export const PLANNING_ASSUMPTIONS: Assumptions = {
  instanceCoreBudget: 0.6,
  redisCoreBudget: 0.6,
  redisDataBytesPerPrimary: 25e9,
  firedTtlSeconds: 7 * 86_400,
  brokerAppendBytesPerSecond: 100e6,
  replicationFactor: 3,
  postgresEventsPerSecond: 13_000,
  shardsPerPrimary: 4,
};

export const TARGETS: readonly Target[] = [
  { messagesPerSecond: 10_000, pending: 1e9 },
  { messagesPerSecond: 100_000, pending: 1e9 },
];

export interface Target {
  messagesPerSecond: number;
  pending: number;
}

const up = (value: number): number => Math.max(1, Math.ceil(value - 1e-9));

export function sizeFor(costs: MessageCosts, assume: Assumptions, target: Target) {
  const rate = target.messagesPerSecond;
  const delayQueueInstances = up((rate * costs.delayQueueCpuUs) / 1e6 / assume.instanceCoreBudget);
  const redisByCpu = up((rate * costs.redisCpuUs) / 1e6 / assume.redisCoreBudget);
  const pendingBytes = target.pending * costs.pendingBytes;
  const firedBytes = rate * assume.firedTtlSeconds * costs.firedBytes;
  const redisByMemory = up((pendingBytes + firedBytes) / assume.redisDataBytesPerPrimary);
  const redisPrimaries = Math.max(3, redisByCpu, redisByMemory);
  // A shard is one hash tag, so one primary serves it and one instance dispatches it.
  const shards = Math.max(delayQueueInstances, redisPrimaries * assume.shardsPerPrimary);
  const appendBytesPerSecond = rate * costs.kafkaLogBytes * assume.replicationFactor;
  const brokers = Math.max(
    assume.replicationFactor,
    up(appendBytesPerSecond / assume.brokerAppendBytesPerSecond),
  );
  const eventsPerSecond = rate * costs.eventsPerMessage;
  const limits = {
    'Redis memory': redisByMemory,
    'Redis CPU': redisByCpu,
    'Kafka appends': up(appendBytesPerSecond / assume.brokerAppendBytesPerSecond),
    'event store (PostgreSQL primaries)': up(eventsPerSecond / assume.postgresEventsPerSecond),
  };
  return {
    delayQueueInstances,
    recorderInstances: up((rate * costs.recorderCpuUs) / 1e6 / assume.instanceCoreBudget),
    redis: {
      primaries: redisPrimaries,
      replicas: redisPrimaries,
      byCpu: redisByCpu,
      byMemory: redisByMemory,
      pendingGB: pendingBytes / 1e9,
      firedMarkersGB: firedBytes / 1e9,
    },
    shards,
    kafka: { brokers, appendMBPerSecond: appendBytesPerSecond / 1e6, requestTopicPartitions: shards },
    eventStore: {
      eventsPerSecond,
      postgresPrimaries: limits['event store (PostgreSQL primaries)'],
      growthGBPerDay: (rate * costs.postgresBytes * 86_400) / 1e9,
    },
    /** Each resource's count on its own; the largest says what binds first. */
    limits,
  };
}
