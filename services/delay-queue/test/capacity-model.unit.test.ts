import { describe, expect, it } from 'vitest';
import { sizeFor, type Assumptions, type MessageCosts } from '../bench/capacity/model.ts';

const costs: MessageCosts = {
  delayQueueCpuUs: 300,
  redisCpuUs: 50,
  pendingBytes: 500,
  firedBytes: 100,
  kafkaLogBytes: 1_000,
  recorderCpuUs: 200,
  eventsPerMessage: 2,
  postgresBytes: 2_000,
};
const assume: Assumptions = {
  instanceCoreBudget: 0.5,
  redisCoreBudget: 0.5,
  redisDataBytesPerPrimary: 25e9,
  firedTtlSeconds: 0,
  brokerAppendBytesPerSecond: 100e6,
  replicationFactor: 3,
  postgresEventsPerSecond: 10_000,
  shardsPerPrimary: 4,
};

describe('capacity model', () => {
  it('sizes Redis by memory when a billion messages are pending', () => {
    const size = sizeFor(costs, assume, { messagesPerSecond: 10_000, pending: 1e9 });
    expect(size.redis.byMemory).toBe(20); // 500 GB over 25 GB primaries
    expect(size.redis.byCpu).toBe(1); // 10,000 × 50 µs = 0.5 s per s
    expect(size.redis.primaries).toBe(20);
    expect(size.redis.replicas).toBe(20);
  });

  it('counts the fired markers kept for their lifetime in Redis memory', () => {
    const day = sizeFor(
      costs,
      { ...assume, firedTtlSeconds: 86_400 },
      { messagesPerSecond: 10_000, pending: 0 },
    );
    expect(day.redis.firedMarkersGB).toBeCloseTo(86.4); // 864 million markers of 100 bytes
    expect(day.redis.byMemory).toBe(4);
  });

  it('runs instances by CPU and gives each Redis primary several shards, never fewer than instances', () => {
    const size = sizeFor(costs, assume, { messagesPerSecond: 100_000, pending: 0 });
    expect(size.delayQueueInstances).toBe(60); // 100,000 × 300 µs = 30 cores at half a core each
    expect(size.recorderInstances).toBe(40);
    expect(size.redis.primaries).toBe(10); // 5 cores of Redis at half a core each
    expect(size.shards).toBe(60); // instances (60) above 10 primaries × 4
    expect(size.kafka.requestTopicPartitions).toBe(size.shards);
  });

  it('needs at least as many brokers as replicas and more when appends exceed what a broker takes', () => {
    expect(sizeFor(costs, assume, { messagesPerSecond: 1_000, pending: 0 }).kafka.brokers).toBe(3);
    const large = sizeFor(costs, assume, { messagesPerSecond: 100_000, pending: 0 });
    expect(large.kafka.appendMBPerSecond).toBe(300);
    expect(large.kafka.brokers).toBe(3);
    expect(sizeFor(costs, assume, { messagesPerSecond: 200_000, pending: 0 }).kafka.brokers).toBe(6);
  });

  it('says how many event-store primaries the recorded events need and how fast the store grows', () => {
    const size = sizeFor(costs, assume, { messagesPerSecond: 100_000, pending: 0 });
    expect(size.eventStore.eventsPerSecond).toBe(200_000);
    expect(size.eventStore.postgresPrimaries).toBe(20);
    expect(size.eventStore.growthGBPerDay).toBeCloseTo(17_280);
  });
});
