import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  HEADERS,
  createSinceReader,
  createTransactionalSender,
  headerText,
  type TransactionalSender,
} from '../src/index.ts';
import { contracts, logger, readAll, setupMessagingTest, trigger, type MessagingTest } from './support.ts';

const stack = inject('stack');

/** Everything on the topic now, as a consumer with the given isolation sees it (stops when idle). */
async function readNow(kafka: Kafka, topic: string, readUncommitted: boolean): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({
    groupId: `reader-${randomUUID()}`,
    maxWaitTimeInMs: 100,
    readUncommitted,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: KafkaMessage[] = [];
  let last = Date.now();
  await consumer.run({
    eachMessage: ({ message }) => {
      seen.push(message);
      last = Date.now();
      return Promise.resolve();
    },
  });
  const started = Date.now();
  while (Date.now() - Math.max(last, started + 1_500) < 700) await new Promise((r) => setTimeout(r, 50));
  await consumer.disconnect();
  return seen;
}

const ids = (messages: KafkaMessage[]) =>
  messages.map((m) => headerText(m.headers, HEADERS.messageId)).sort();

describe('transactional sender', () => {
  let t: MessagingTest;
  const senders: TransactionalSender[] = [];
  const sender = (transactionalId: string) => {
    const created = createTransactionalSender({
      kafka: t.kafka,
      logger,
      transactionalId,
      transactionTimeoutMs: 10_000,
    });
    senders.push(created);
    return created;
  };
  beforeEach(async () => {
    t = await setupMessagingTest(stack, 2);
  });
  afterEach(async () => {
    for (const s of senders.splice(0)) await s.close();
    await t.close();
  });

  it('keeps written messages from read-committed consumers until the commit', async () => {
    const tx = sender(`tx-${randomUUID()}`);
    const open = await tx.write([
      t.producer.encode(t.binding, [
        { key: 'a', value: trigger('a', 1), messageId: 'm-1' },
        { key: 'b', value: trigger('b', 1), messageId: 'm-2' },
      ]),
    ]);
    expect(await readNow(t.kafka, t.binding.topic, false)).toEqual([]);
    expect(ids(await readNow(t.kafka, t.binding.topic, true))).toEqual(['m-1', 'm-2']);
    await open.commit();
    expect(ids(await readAll(t.kafka, t.binding.topic, 2))).toEqual(['m-1', 'm-2']);
  });

  it('writes more bytes for one partition than the broker takes in one batch, committed together', async () => {
    const tx = sender(`tx-${randomUUID()}`);
    const many = Array.from({ length: 1_500 }, (_, i) => ({
      key: 'one-key',
      value: trigger('big', i + 1, { task_name: 'y'.repeat(1_024) }),
    }));
    const open = await tx.write([t.producer.encode(t.binding, many)]);
    await open.commit();
    const seen = await readAll(t.kafka, t.binding.topic, many.length, 60_000);
    expect(seen.map((m) => contracts.codec('TaskTrigger').decode(m.value!).attempt)).toEqual(
      many.map((_, i) => i + 1),
    );
  });

  it('aborts the transaction a killed holder left open when the next holder of the id takes over, and fences the old one', async () => {
    const id = `tx-${randomUUID()}`;
    const first = sender(id);
    // The first holder writes and then is "killed": it never commits.
    const orphan = await first.write([
      t.producer.encode(t.binding, [{ key: 'a', value: trigger('a', 1), messageId: 'old' }]),
    ]);
    const second = sender(id);
    await second.init();
    const open = await second.write([
      t.producer.encode(t.binding, [{ key: 'a', value: trigger('a', 2), messageId: 'new' }]),
    ]);
    await open.commit();
    // The old holder cannot make its messages visible any more.
    await expect(orphan.commit()).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { reason: 'transaction_fenced' },
    });

    const committed = await readNow(t.kafka, t.binding.topic, false);
    expect(ids(committed)).toEqual(['new']);
    // The aborted message is on the log (a read-uncommitted consumer sees it), never committed.
    expect(ids(await readNow(t.kafka, t.binding.topic, true))).toEqual(['new', 'old']);
  });

  it('never shows an aborted transaction to a read-committed consumer, and carries on after it', async () => {
    const tx = sender(`tx-${randomUUID()}`);
    const aborted = await tx.write([
      t.producer.encode(t.binding, [{ key: 'a', value: trigger('a', 1), messageId: 'gone' }]),
    ]);
    await aborted.abort();
    const kept = await tx.write([
      t.producer.encode(t.binding, [{ key: 'a', value: trigger('a', 2), messageId: 'kept' }]),
    ]);
    await kept.commit();
    expect(ids(await readNow(t.kafka, t.binding.topic, false))).toEqual(['kept']);
  });

  it('reads back to the end of partitions whose last records are commit and abort markers', async () => {
    const tx = sender(`tx-${randomUUID()}`);
    const since = Date.now() - 1_000;
    const kept = await tx.write([t.producer.encode(t.binding, [{ key: 'a', value: trigger('a', 1) }])]);
    await kept.commit();
    const dropped = await tx.write([t.producer.encode(t.binding, [{ key: 'b', value: trigger('b', 1) }])]);
    await dropped.abort();
    const admin = t.kafka.admin();
    await admin.connect();
    try {
      const read = createSinceReader({
        kafka: t.kafka,
        admin,
        contracts,
        logger,
        schema: 'TaskTrigger',
        groupPrefix: `readback-${randomUUID()}`,
        timeoutMs: 10_000,
      });
      const found = await read([t.binding.topic], since);
      expect(found.map((f) => f.value.task_id)).toEqual(['a']);
    } finally {
      await admin.disconnect();
    }
  });
});
