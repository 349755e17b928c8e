import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';

/** Where each partition of each topic ended at one moment: `topic → partition → offset`. */
export type Offsets = Record<string, Record<number, string>>;

export interface ReadRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** The record's CreateTime: when its producer built it. */
  timestamp: number;
}

const IDLE_MS = 8_000;

function headerText(value: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  const last = Array.isArray(value) ? value.at(-1) : value;
  return last?.toString();
}

/** The end of every partition of `topics` now (the offset the next record will get). */
export async function endOffsets(kafka: Kafka, topics: readonly string[]): Promise<Offsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const result: Offsets = {};
    for (const topic of topics) {
      result[topic] = Object.fromEntries(
        (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]),
      );
    }
    return result;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Every record of `topics` from `from` (a start taken with `endOffsets` before the run) up to their
 * ends now, each (topic, partition, offset) once: what was written during the run, read after it
 * by a consumer of its own.
 */
export async function readSince(kafka: Kafka, from: Offsets, timeoutMs = 120_000): Promise<ReadRecord[]> {
  const topics = Object.keys(from);
  const until = await endOffsets(kafka, topics);
  const left = new Map<string, bigint>();
  for (const topic of topics) {
    for (const [partition, end] of Object.entries(until[topic] ?? {})) {
      const start = BigInt(from[topic]?.[Number(partition)] ?? '0');
      if (BigInt(end) > start) left.set(`${topic}/${partition}`, BigInt(end));
    }
  }
  const records: ReadRecord[] = [];
  if (left.size === 0) return records;
  const groupId = `e2e-faults-read-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of topics) {
      await admin.setOffsets({
        groupId,
        topic,
        partitions: Object.entries(from[topic] ?? {}).map(([partition, offset]) => ({
          partition: Number(partition),
          offset,
        })),
      });
    }
  } finally {
    await admin.disconnect();
  }
  const seen = new Set<string>();
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, maxBytes: 50 * 1024 * 1024 });
  const group = { joined: false };
  consumer.on(consumer.events.GROUP_JOIN, () => {
    group.joined = true;
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...topics] });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        const name = `${batch.topic}/${batch.partition}`;
        const end = left.get(name);
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (end === undefined || offset >= end) continue;
          const id = `${name}/${message.offset}`;
          if (seen.has(id)) continue;
          seen.add(id);
          const headers: Record<string, string> = {};
          for (const [header, value] of Object.entries(message.headers ?? {})) {
            const text = headerText(value);
            if (text !== undefined) headers[header] = text;
          }
          records.push({
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
            key: message.key?.toString() ?? null,
            value: message.value,
            headers,
            timestamp: Number(message.timestamp),
          });
          if (offset + 1n >= end) left.delete(name);
        }
        return Promise.resolve();
      },
    });
    const deadline = Date.now() + timeoutMs;
    // Transaction markers and compacted gaps can leave an offset below the end that never arrives:
    // once the group is joined, partitions that bring nothing new for IDLE_MS are taken as read (a
    // loaded machine can pause a fetch for seconds, so this is generous).
    let lastCount = -1;
    let lastChange = Date.now();
    while (left.size > 0 && Date.now() < deadline) {
      await sleep(200);
      if (records.length !== lastCount || !group.joined) lastChange = Date.now();
      lastCount = records.length;
      if (Date.now() - lastChange > IDLE_MS) break;
    }
    return records;
  } finally {
    await consumer.disconnect();
  }
}
