import { createContracts, type TaskTrigger } from '@openpenpal/contracts';
import { createProducer, keyPartition, type EncodedBatch } from '@openpenpal/messaging';
import { describe, expect, it } from 'vitest';
import { createPartitionCounts } from '../src/kafka/partition-counts.ts';
import { createKafkaPublisher } from '../src/kafka/publisher.ts';
import { logger } from './support.ts';

function trigger(taskId: string): TaskTrigger {
  return {
    execution_id: `exec-${taskId}`,
    task_id: taskId,
    task_type: 'letter_cleanup',
    task_name: taskId,
    timezone: 'UTC',
    nominal_time: 1_770_000_000_000,
    fire_time: 1_770_000_000_000,
    attempt: 1,
    max_retries: 3,
    timeout_secs: 60,
    payload: '{}',
    source: 'cron',
    fencing_token: 1,
  };
}

/** A real messaging producer that never connects; `sendEncoded` keeps what it was given. */
function capturingProducer() {
  // kafkajs builds a producer lazily: nothing connects until a send.
  const kafka = { producer: () => ({}) } as unknown as Parameters<typeof createProducer>[0]['kafka'];
  const real = createProducer({ kafka, contracts: createContracts(), logger });
  const sent: EncodedBatch[][] = [];
  return {
    sent,
    producer: {
      ...real,
      sendEncoded: (batches: readonly EncodedBatch[]) => {
        sent.push([...batches]);
        return Promise.resolve([]);
      },
    },
  };
}

describe('choosing trigger partitions ahead of the instant', () => {
  it('gives each trigger the partition kafkajs would give its key, once the topic’s count is known', async () => {
    const { producer, sent } = capturingProducer();
    const counts = new Map([['t.known', 6]]);
    const publisher = createKafkaPublisher({
      triggers: producer,
      events: producer,
      eventsTopic: 'events',
      maxBatch: 100,
      readBack: () => Promise.resolve([]),
      partitions: (topic) => counts.get(topic),
    });
    const keys = Array.from({ length: 30 }, (_, i) => `task-${i}`);
    await publisher
      .prepareTriggers(
        new Map([
          ['t.known', keys.map(trigger)],
          ['t.unknown', [trigger('other')]],
        ]),
      )
      .send();
    const [request] = sent;
    const known = request?.find((b) => b.topic === 't.known');
    expect(known?.messages.map((m) => m.partition)).toEqual(keys.map((k) => keyPartition(k, 6)));
    expect(new Set(known?.messages.map((m) => m.partition)).size).toBeGreaterThan(1);
    // Not known (yet): kafkajs partitions it at send time.
    expect(request?.find((b) => b.topic === 't.unknown')?.messages[0]?.partition).toBeUndefined();
  });

  it('encodes an instant’s events ahead with their partitions and sends them when asked', async () => {
    const { producer, sent } = capturingProducer();
    const publisher = createKafkaPublisher({
      triggers: producer,
      events: producer,
      eventsTopic: 'events',
      maxBatch: 100,
      readBack: () => Promise.resolve([]),
      partitions: (topic) => (topic === 'events' ? 6 : undefined),
    });
    const ids = Array.from({ length: 20 }, (_, i) => `exec-${i}`);
    const prepared = publisher.prepareEvents(
      ids.map((id) => ({
        event_id: `event-${id}`,
        execution_id: id,
        task_id: 'task',
        task_type: 'letter_cleanup',
        occurred_at: 1_770_000_000_000,
        worker: 'w',
        event: {
          'org.openpenpal.scheduler.TaskTriggered': {
            nominal_time: 1_770_000_000_000,
            fire_time: 1_770_000_000_000,
            attempt: 1,
            source: 'cron',
            fencing_token: 1,
            trigger_topic: 't',
          },
        },
      })),
    );
    expect(sent).toHaveLength(0);
    await prepared.send();
    const batch = sent[0]?.[0];
    expect(batch?.topic).toBe('events');
    expect(batch?.messages.map((m) => m.partition)).toEqual(ids.map((id) => keyPartition(id, 6)));
    expect(batch?.messages.map((m) => m.key)).toEqual(ids);
  });

  it('reads the counts from topic metadata and keeps the last ones when a read fails', async () => {
    let fail = false;
    let partitions = 3;
    const counts = createPartitionCounts({
      admin: {
        fetchTopicMetadata: ({ topics }) =>
          fail
            ? Promise.reject(new Error('broker away'))
            : Promise.resolve({
                topics: topics.map((name) => ({ name, partitions: Array.from({ length: partitions }) })),
              }),
      },
      topics: ['a', 'b'],
      refreshMs: 3_600_000,
      logger,
    });
    try {
      expect(counts.of('a')).toBeUndefined();
      await counts.refresh();
      expect([counts.of('a'), counts.of('b'), counts.of('c')]).toEqual([3, 3, undefined]);
      partitions = 6;
      await counts.refresh();
      expect(counts.of('a')).toBe(6);
      fail = true;
      await counts.refresh();
      expect(counts.of('b')).toBe(6);
    } finally {
      counts.close();
    }
  });
});
