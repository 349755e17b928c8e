import type { TaskTrigger } from '@openpenpal/contracts';
import { uniqueName, waitFor } from '@openpenpal/test-kit';
import type { Admin } from 'kafkajs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  createSinceReader,
  createTableReader,
  type TableReader,
  type TableReaderOptions,
  type TableRecord,
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
    onRecord: (record: TableRecord<TaskTrigger>) => void,
    extra: Partial<TableReaderOptions<'TaskTrigger'>> = {},
  ) => {
    const reader = createTableReader({
      kafka: test.kafka,
      admin: connected,
      contracts,
      logger,
      binding: test.binding,
      groupPrefix: `${test.binding.topic}-table`,
      member: 'test',
      maxWaitTimeMs: 100,
      onRecord,
      ...extra,
    });
    tables.push(reader);
    return reader;
  };

  const groupsUnder = async (admin: Admin, prefix: string) =>
    (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));

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

  it('counts and skips a record it cannot decode, never dead-letters it, and is loaded past it: 3 bad records, 4 starts', async () => {
    const { t, admin } = await setup(1);
    await t.producer.send(t.binding, [{ key: 'a', value: trigger('a', 1) }]);
    // Last in the partition: the loading must not wait for a record it will never hand over.
    await t.producer.sendRaw(
      t.binding.topic,
      ['junk-1', 'junk-2', 'junk-3'].map((key) => ({ key, value: Buffer.from(`not avro: ${key}`) })),
    );
    for (let start = 0; start < 4; start += 1) {
      const keys: (string | null)[] = [];
      const undecodable: string[] = [];
      const reader = table(t, admin, (record) => keys.push(record.key), {
        onUndecodable: (record) => undecodable.push(`${record.key}@${record.offset}`),
      });
      await reader.start();
      await reader.loaded();
      expect(keys).toEqual(['a']);
      expect(undecodable).toEqual(['junk-1@1', 'junk-2@2', 'junk-3@3']);
      await reader.close();
    }
    const [dlq] = await admin.fetchTopicOffsets(`${t.binding.topic}.dlq`);
    expect(dlq?.high).toBe('0');
  });

  it('commits nothing, and deletes its group on close; an empty table is loaded at once', async () => {
    const { t, admin } = await setup();
    await t.producer.send(t.binding, [{ key: 'a', value: trigger('a', 1) }]);
    const reader = table(t, admin, () => undefined);
    await reader.start();
    await reader.loaded();
    expect(reader.isRunning()).toBe(true);
    expect(reader.groupId).toMatch(new RegExp(`^${t.binding.topic}-table-test-[0-9a-f]{8}$`));
    const [committed] = await admin.fetchOffsets({ groupId: reader.groupId, topics: [t.binding.topic] });
    expect(committed?.partitions.every((p) => p.offset === '-1')).toBe(true);
    await reader.close();
    await reader.close();
    expect(reader.isRunning()).toBe(false);
    expect(await groupsUnder(admin, `${t.binding.topic}-table`)).toEqual([]);

    // The (empty) DLQ topic read as a table: nothing to wait for.
    const empty = table(t, admin, () => undefined, {
      binding: { topic: `${t.binding.topic}.dlq`, schema: 'TaskTrigger' },
    });
    await empty.start();
    expect(empty.isLoaded()).toBe(true);
  });

  it('deletes the idle groups of killed readers under its prefix when it starts, never a live one', async () => {
    const { t, admin } = await setup();
    const prefix = `${t.binding.topic}-table`;
    // A reader killed without closing leaves its group; once its session is over the group is idle.
    const idle = `${prefix}-killed-0badc0de`;
    const leftover = t.kafka.consumer({ groupId: idle });
    await leftover.connect();
    await leftover.subscribe({ topics: [t.binding.topic], fromBeginning: true });
    await leftover.run({ eachMessage: () => Promise.resolve() });
    await leftover.disconnect();
    expect(await groupsUnder(admin, prefix)).toEqual([idle]);
    const live = table(t, admin, () => undefined, { member: 'live' });
    await live.start();
    expect(await groupsUnder(admin, prefix)).toEqual([live.groupId]);

    const next = table(t, admin, () => undefined, { member: 'next' });
    await next.start();
    expect((await groupsUnder(admin, prefix)).sort()).toEqual([live.groupId, next.groupId].sort());
  });

  it('reads back the records written since a point in time, skipping one it cannot decode, leaving no group', async () => {
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
    const groupPrefix = uniqueName('g-readback');
    const read = createSinceReader({
      kafka: t.kafka,
      admin,
      contracts,
      logger,
      schema: 'TaskTrigger',
      groupPrefix,
    });
    const found = await read([t.binding.topic, other], since);
    expect(found.map((f) => f.value.task_id).sort()).toEqual(['t4', 't5']);
    expect(found.every((f) => f.topic === t.binding.topic && f.timestamp >= since)).toBe(true);
    expect(await read([other], since)).toEqual([]);
    expect(await groupsUnder(admin, groupPrefix)).toEqual([]);
  });
});
