import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// The producer's send step of kafkajs as patched (patches/kafkajs@2.2.4.patch), driven with a
// stand-in cluster: the case is metadata that does not list a partition for a moment (a broker
// starting again), which no healthy broker produces on demand.
const require = createRequire(import.meta.url);
type SendMessages = (
  deps: Record<string, unknown>,
) => (request: {
  acks: number;
  topicMessages: { topic: string; messages: { partition: number; value: string }[] }[];
}) => Promise<{ topicName: string; partition: number }[]>;
const createSendMessages = require('kafkajs/src/producer/sendMessages.js') as SendMessages;
const createRetry = require('kafkajs/src/retry/index.js') as (options: Record<string, number>) => unknown;
const Cluster = require('kafkajs/src/cluster/index.js') as {
  prototype: { findLeaderForPartitions(this: unknown, topic: string, partitions: string[]): unknown };
};

const quiet = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

function standInCluster(listed: () => number[]) {
  const requests: number[][] = [];
  const broker = {
    produce: ({ topicData }: { topicData: { topic: string; partitions: { partition: number }[] }[] }) => {
      requests.push(topicData.flatMap((t) => t.partitions.map((p) => p.partition)));
      return Promise.resolve({
        topics: topicData.map(({ topic, partitions }) => ({
          topicName: topic,
          partitions: partitions.map(({ partition }) => ({ partition, errorCode: 0, baseOffset: '0' })),
        })),
      });
    },
  };
  const cluster = {
    addMultipleTargetTopics: () => Promise.resolve(),
    refreshMetadataIfNecessary: () => Promise.resolve(),
    refreshMetadata: () => Promise.resolve(),
    isConnected: () => true,
    findBroker: () => Promise.resolve(broker),
    removeBroker: () => {},
    findTopicPartitionMetadata: () => listed().map((partitionId) => ({ partitionId, leader: 1 })),
    // kafkajs's own: a partition the metadata does not list is left out without an error.
    findLeaderForPartitions(topic: string, partitions: string[]) {
      return Cluster.prototype.findLeaderForPartitions.call(this, topic, partitions);
    },
  };
  return { cluster, requests };
}

const eosManager = {
  acquireBrokerLock: () => Promise.resolve(),
  releaseBrokerLock: () => Promise.resolve(),
  isTransactional: () => false,
  getSequence: () => 0,
  updateSequence: () => {},
  getProducerId: () => -1,
  getProducerEpoch: () => 0,
};

describe('the patched kafkajs send', () => {
  it('does not resolve while a partition with messages was sent nowhere, and sends it once its leader is known', async () => {
    let calls = 0;
    // Partition 1 is missing from the metadata of the first attempt only.
    const { cluster, requests } = standInCluster(() => (++calls <= 3 ? [0] : [0, 1]));
    const send = createSendMessages({
      logger: quiet,
      cluster,
      partitioner: ({ message }: { message: { partition: number } }) => message.partition,
      eosManager,
      retrier: createRetry({ retries: 3, initialRetryTime: 5, maxRetryTime: 10 }),
    });
    const responses = await send({
      acks: -1,
      topicMessages: [
        {
          topic: 't',
          messages: [
            { partition: 0, value: 'a' },
            { partition: 1, value: 'b' },
          ],
        },
      ],
    });
    expect(requests).toEqual([[0], [1]]);
    expect(responses.map((r) => r.partition).sort()).toEqual([0, 1]);
  });
});
