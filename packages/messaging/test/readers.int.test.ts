import type { TaskTrigger } from '@openpenpal/contracts';
import { uniqueName, waitFor } from '@openpenpal/test-kit';
import type { Admin } from 'kafkajs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  createConsumerRunner,
  createSinceReader,
  createTableReader,
  type ConsumedMessage,
  type TableReader,
} from '../src/index.ts';
import { contracts, logger, setupMessagingTest, trigger, type MessagingTest } from './support.ts';

const stack = inject('stack');

describe('readers', () => {
  let current: MessagingTest | undefined;
  let currentAdmin: Admin | undefined;
  const tables: TableReader[] = [];
  afterEach(async () => {
    await Promise.all(tables.splice(0).map((table) => table.close()));
    await currentAdmin?.disconnect();
    currentAdmin = undefined;
    await current?.close();
    current = undefined;
  });

  const setup = async (partitions = 3) => {
    const t = await setupMessagingTest(stack, partitions);
    const admin = t.kafka.admin();
    current = t;
    currentAdmin = admin;
    await admin.connect();
    return { t, admin };
  };

  const table = (
    test: MessagingTest,
    connected: Admin,
    onRecord: (record: ConsumedMessage<TaskTrigger | null>) => void,
    groupId = uniqueName('g-table'),
  ) => {
    const reader = createTableReader({
      admin: connected,
      logger,
      binding: test.binding,
      groupId,
      commitCheckMs: 100,
      consumer: (options) =>
        createConsumerRunner({
          kafka: test.kafka,
          contracts,
          producer: test.producer,
          logger,
          retry: { attempts: 1, initialDelayMs: 10, maxDelayMs: 10 },
          maxWaitTimeMs: 100,
          ...options,
        }),
      onRecord,
    });
    tables.push(reader);
    return reader;
  };

  it('a table is loaded only once every record up to the ends seen at start was read, and stays live', async () => {
    const { t, admin } = await setup();
    await t.producer.send(
      t.binding,
      Array.from({ length: 60 }, (_, i) => ({
        key: `k${i % 20}`,
        value: trigger(`k${i % 20}`, 1 + (i % 3)),
      })),
    );
    const rows = new Map<string, number>();
    let seen = 0;
    const reader = table(t, admin, (record) => {
      seen += 1;
      if (record.key !== null && record.value) rows.set(record.key, record.value.attempt);
      if (record.key !== null && !record.value) rows.delete(record.key);
    });
    await reader.start();
    await reader.loaded();
    // Nothing before the ends was still unread when it said so.
    expect(seen).toBe(60);
    expect(reader.isLoaded()).toBe(true);
    expect(rows.size).toBe(20);

    await t.producer.send(t.binding, [
      { key: 'late', value: trigger('late', 9) },
      { key: 'k0', value: null },
    ]);
    await waitFor(() => rows.get('late') === 9 && !rows.has('k0'), { what: 'the live update and delete' });
  });

  it('a record it cannot decode does not hold the loading back', async () => {
    const { t, admin } = await setup(1);
    await t.producer.send(t.binding, [{ key: 'a', value: trigger('a', 1) }]);
    // Last in the partition: the consumer dead-letters it, so the handler never sees the end offset.
    await t.producer.sendRaw(t.binding.topic, [{ key: 'junk', value: Buffer.from('not avro') }]);
    const keys: (string | null)[] = [];
    const reader = table(t, admin, (record) => keys.push(record.key));
    await reader.start();
    await reader.loaded();
    expect(keys).toEqual(['a']);
  });

  it('an empty table is loaded at once, and its group is deleted on close', async () => {
    const { t, admin } = await setup();
    const groupId = uniqueName('g-table');
    const reader = table(t, admin, () => undefined, groupId);
    await reader.start();
    expect(reader.isLoaded()).toBe(true);
    expect(reader.isRunning()).toBe(true);
    await reader.close();
    await reader.close();
    expect(reader.isRunning()).toBe(false);
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    expect(groups).not.toContain(groupId);
  });

  it('reads back the records written since a point in time, skipping one it cannot decode', async () => {
    const { t, admin } = await setup();
    const other = `${t.binding.topic}.dlq`;
    await t.producer.send(
      t.binding,
      [1, 2, 3].map((n) => ({ key: `t${n}`, value: trigger(`t${n}`, 1) })),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const since = Date.now();
    await t.producer.send(
      t.binding,
      [4, 5].map((n) => ({ key: `t${n}`, value: trigger(`t${n}`, 1) })),
    );
    await t.producer.sendRaw(t.binding.topic, [{ key: 't6', value: Buffer.from('not avro') }]);
    const read = createSinceReader({
      kafka: t.kafka,
      admin,
      contracts,
      logger,
      schema: 'TaskTrigger',
      groupPrefix: uniqueName('g-readback'),
    });
    const found = await read([t.binding.topic, other], since);
    expect(found.map((f) => f.value.task_id).sort()).toEqual(['t4', 't5']);
    expect(found.every((f) => f.topic === t.binding.topic && f.timestamp >= since)).toBe(true);
    expect(await read([other], since)).toEqual([]);
  });
});
