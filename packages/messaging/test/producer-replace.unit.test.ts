import { createContracts } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import {
  KafkaJSAggregateError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  type Kafka,
} from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createProducer } from '../src/producer.ts';
import { brokenProducerState } from '../src/producer-state.ts';

// Kafka's OUT_OF_ORDER_SEQUENCE_NUMBER cannot be provoked on demand from a healthy broker (the
// cluster fault run met it when a broker was SIGKILLed mid-send, packages/cluster-proof); these
// tests stand in kafkajs producers that answer the way kafkajs does then, to pin down what the
// layer does with the answer: it replaces the producer, and only once per broken producer.
const outOfOrder = () =>
  new KafkaJSProtocolError({
    message: 'The broker received an out of order sequence number',
    type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
    code: 45,
    retriable: false,
  } as unknown as Error);

interface StandIn {
  sends: number;
  disconnected: boolean;
  fail?: () => Error;
}

function standInKafka() {
  const made: StandIn[] = [];
  const kafka = {
    producer: () => {
      const state: StandIn = { sends: 0, disconnected: false };
      made.push(state);
      const send = async () => {
        state.sends += 1;
        await Promise.resolve();
        if (state.fail) throw state.fail();
        return [];
      };
      return {
        connect: async () => {},
        disconnect: () => {
          state.disconnected = true;
          return Promise.resolve();
        },
        send,
        sendBatch: send,
      };
    },
  } as unknown as Kafka;
  return { kafka, made };
}

const logger = pino({ level: 'silent' });
const contracts = createContracts();

describe('a producer whose idempotent state broke', () => {
  it('fails the send as an outage, and sends the next one through a new producer', async () => {
    const { kafka, made } = standInKafka();
    const producer = createProducer({ kafka, contracts, logger });
    await producer.sendRaw('t', [{ key: 'k', value: 'v' }]);
    made[0]!.fail = outOfOrder;
    const failed = await producer.sendRaw('t', [{ key: 'k', value: 'v' }]).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(SchedulerError);
    expect(failed).toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
      details: { reason: 'producer_replaced', type: 'OUT_OF_ORDER_SEQUENCE_NUMBER' },
    });
    expect(made).toHaveLength(2);
    await producer.sendEncoded([{ topic: 't', messages: [{ key: 'k', value: 'v' }] }]);
    expect(made[1]!.sends).toBe(1);
    expect(made[0]!.disconnected).toBe(true);
    await producer.close();
  });

  it('replaces a broken producer once, however many sends were in flight on it', async () => {
    const { kafka, made } = standInKafka();
    const producer = createProducer({ kafka, contracts, logger });
    made[0]!.fail = outOfOrder;
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => producer.sendRaw('t', [{ key: 'k', value: 'v' }])),
    );
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(made).toHaveLength(2);
    await producer.close();
  });

  it('keeps its producer on other failures', async () => {
    const { kafka, made } = standInKafka();
    const producer = createProducer({ kafka, contracts, logger });
    made[0]!.fail = () =>
      new KafkaJSNumberOfRetriesExceeded(new Error('request timed out'), { retryCount: 5, retryTime: 1000 });
    await expect(producer.sendRaw('t', [{ key: 'k', value: 'v' }])).rejects.toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
    });
    expect(made).toHaveLength(1);
    await producer.close();
  });
});

describe('brokenProducerState', () => {
  it('finds the answer in the error, its cause or an aggregate, and nothing in other errors', () => {
    expect(brokenProducerState(outOfOrder())).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(
      brokenProducerState(new KafkaJSAggregateError('two brokers', [new Error('x'), outOfOrder()])),
    ).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(brokenProducerState(new Error('wrapped', { cause: { type: 'UNKNOWN_PRODUCER_ID' } }))).toBe(
      'UNKNOWN_PRODUCER_ID',
    );
    expect(brokenProducerState({ type: 'NOT_LEADER_FOR_PARTITION' })).toBeUndefined();
    expect(brokenProducerState(new Error('plain'))).toBeUndefined();
    expect(brokenProducerState(undefined)).toBeUndefined();
  });
});
