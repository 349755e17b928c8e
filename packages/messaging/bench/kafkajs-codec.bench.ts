// pnpm bench:kafkajs-codec — CPU time kafkajs spends building a produce request (partitioning,
// grouping, record encoding, CRC-32C) and reading a fetched record batch, with this repository's
// patch (patches/kafkajs@2.2.4.patch) against the unpatched kafkajs 2.2.4 from the npm registry,
// side by side in one process, round by round, and whether both give the same bytes (encoding) or
// the same records (decoding). No broker: this is the JavaScript work around a send (the ticker's
// lag after an instant, much of a dispatch batch) and around a fetch (every consumer).
// Options (env): BENCH_ROUNDS (40 timed per case and side, after 10 warm-up), BENCH_BASELINE_DIR (an
// unpacked kafkajs 2.2.4 package; default: `npm pack kafkajs@2.2.4` into a temporary folder),
// BENCH_OUT (docs/benchmarks/kafkajs-codec.json).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { findWorkspaceRoot } from '@openpenpal/test-kit';
import { machineInfo, median } from './machine.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
const WARMUP = 10;
const root = findWorkspaceRoot();
const OUT = resolve(root, process.env.BENCH_OUT ?? 'docs/benchmarks/kafkajs-codec.json');
const require = createRequire(import.meta.url);

interface Message {
  key: string;
  value: Buffer;
  timestamp: string;
  headers: Record<string, string>;
}
/**
 * One timed piece of work; resolves with a function that digests what it produced (called after
 * the clock stops), to compare the sides.
 */
type Work = () => Promise<() => string>;
const digest = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
interface DecodedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}

/** kafkajs's send steps for one topic and its record-batch reading, from a kafkajs package folder. */
function loadKafkajs(dir: string) {
  const load = (path: string): unknown => require(join(dir, path));
  const produce = load('src/protocol/requests/produce/v7/request.js') as (
    request: Record<string, unknown>,
  ) => {
    encode(): Promise<{ buffer: Buffer }>;
  };
  const group = load('src/producer/groupMessagesPerPartition.js') as (
    args: Record<string, unknown>,
  ) => Record<string, Message[]>;
  const partitioners = load('index.js') as { Partitioners: { DefaultPartitioner: () => () => unknown } };
  const Decoder = load('src/protocol/decoder.js') as new (buffer: Buffer) => unknown;
  const decodeBatch = load('src/protocol/recordBatch/v0/decoder.js') as (
    decoder: unknown,
  ) => Promise<{ records: DecodedRecord[] }>;
  const { RecordBatch } = load('src/protocol/recordBatch/v0/index.js') as {
    RecordBatch: (batch: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
  };
  const Record = load('src/protocol/recordBatch/record/v0/index.js') as (
    record: Record<string, unknown>,
  ) => unknown;
  /** A record batch as a fetch returns it, at offset 123,456,789,012: its bytes. */
  const fetched = async (messages: Message[]): Promise<Buffer> => {
    const first = Number(messages[0]?.timestamp ?? 0);
    const bytes = (
      await RecordBatch({
        records: messages.map((message, i) =>
          Record({ ...message, offsetDelta: i, timestampDelta: Number(message.timestamp) - first }),
        ),
        firstTimestamp: first,
        maxTimestamp: first + 2,
        lastOffsetDelta: messages.length - 1,
      })
    ).buffer;
    bytes.writeBigInt64BE(123_456_789_012n, 0);
    return bytes;
  };
  /** Reads the batch's records, as a consumer's fetch does. */
  const decode =
    (bytes: Buffer): Work =>
    async () => {
      const { records } = await decodeBatch(new Decoder(bytes));
      return () =>
        digest(
          JSON.stringify(
            records.map((r) => [
              r.offset,
              r.timestamp,
              r.key?.toString('hex'),
              r.value?.toString('hex'),
              Object.entries(r.headers).map(([name, value]) => [name, String(value)]),
            ]),
          ),
        );
    };
  const encode = (messages: Message[], partitions: number): Work => {
    const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
    }));
    return async () => {
      const grouped = group({
        topic: 'bench',
        partitionMetadata,
        messages,
        partitioner: partitioners.Partitioners.DefaultPartitioner(),
      });
      const request = produce({
        acks: -1,
        timeout: 30_000,
        producerId: 5,
        producerEpoch: 0,
        compression: 0,
        topicData: [
          {
            topic: 'bench',
            partitions: Object.entries(grouped).map(([partition, list]) => ({
              partition: Number(partition),
              firstSequence: 0,
              messages: list,
            })),
          },
        ],
      });
      const { buffer } = await request.encode();
      return () => digest(buffer);
    };
  };
  return { encode, fetched, decode };
}

function baselineDir(): string {
  if (process.env.BENCH_BASELINE_DIR) return resolve(process.env.BENCH_BASELINE_DIR);
  const into = mkdtempSync(join(tmpdir(), 'kafkajs-2.2.4-'));
  execFileSync('npm', ['pack', 'kafkajs@2.2.4', '--pack-destination', into, '--silent'], { stdio: 'ignore' });
  execFileSync('tar', ['-xzf', join(into, 'kafkajs-2.2.4.tgz'), '-C', into]);
  return join(into, 'package');
}

/** Messages like the delay queue's and the ticker's: a key, ~250 bytes of value, three headers. */
function messages(count: number, keys: 'one' | 'many'): Message[] {
  const value = Buffer.from(Array.from({ length: 250 }, (_, i) => (i * 37) % 256));
  return Array.from({ length: count }, (_, i) => ({
    key: keys === 'one' ? 'ai_penpal_reply' : `task-${i}`,
    value,
    timestamp: String(1_796_281_839_878 + (i % 3)),
    headers: {
      'message-id': `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      schema: 'DelayedMessageEvent',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
  }));
}

const ENCODE_CASES = [
  {
    name: 'encode: ticker second, spread: 1,150 triggers, 6 partitions',
    count: 1_150,
    keys: 'many',
    partitions: 6,
  },
  {
    name: 'encode: ticker instant, aligned: 10,000 triggers, 6 partitions',
    count: 10_000,
    keys: 'many',
    partitions: 6,
  },
  { name: 'encode: dispatch batch: 2,000 messages, one key', count: 2_000, keys: 'one', partitions: 6 },
] as const;
const DECODE_CASES = [
  { name: 'decode: fetched batch of 2,000 records', count: 2_000 },
  { name: 'decode: fetched batch of 10,000 records', count: 10_000 },
] as const;

async function timeOnce(work: Work): Promise<{ ms: number; digest: string }> {
  const started = performance.now();
  const produced = await work();
  const ms = performance.now() - started;
  return { ms, digest: produced() };
}

type Side = 'patched' | 'unpatched';
const patchedDir = dirname(require.resolve('kafkajs/package.json'));
const baseline = baselineDir();
const sides = { patched: loadKafkajs(patchedDir), unpatched: loadKafkajs(baseline) };

/** Runs both sides' work in alternating order; the sides agree when each gave one and the same digest. */
async function compare(name: string, count: number, work: Record<Side, Work>) {
  const times: Record<Side, number[]> = { patched: [], unpatched: [] };
  const digests: Record<Side, Set<string>> = { patched: new Set(), unpatched: new Set() };
  for (let round = 0; round < WARMUP + ROUNDS; round += 1) {
    // Alternating which side goes first, so neither always runs on a warmer heap.
    const order: Side[] = round % 2 === 0 ? ['patched', 'unpatched'] : ['unpatched', 'patched'];
    for (const side of order) {
      const { ms, digest: produced } = await timeOnce(work[side]);
      if (round >= WARMUP) times[side].push(ms);
      digests[side].add(produced);
    }
  }
  const patched = median(times.patched);
  const unpatched = median(times.unpatched);
  const result = {
    case: name,
    messages: count,
    medianMs: { patched: Number(patched.toFixed(2)), unpatched: Number(unpatched.toFixed(2)) },
    minMs: {
      patched: Number(Math.min(...times.patched).toFixed(2)),
      unpatched: Number(Math.min(...times.unpatched).toFixed(2)),
    },
    patchedOverUnpatched: Number((patched / unpatched).toFixed(3)),
    sameResult:
      digests.patched.size === 1 &&
      digests.unpatched.size === 1 &&
      [...digests.patched][0] === [...digests.unpatched][0],
  };
  console.log(JSON.stringify(result));
  return result;
}

const results = [];
for (const spec of ENCODE_CASES) {
  const list = messages(spec.count, spec.keys);
  results.push(
    await compare(spec.name, spec.count, {
      patched: sides.patched.encode(list, spec.partitions),
      unpatched: sides.unpatched.encode(list, spec.partitions),
    }),
  );
}
for (const spec of DECODE_CASES) {
  // The same bytes for both sides: what the broker would return (built by unpatched kafkajs).
  const bytes = await sides.unpatched.fetched(messages(spec.count, 'many'));
  results.push(
    await compare(spec.name, spec.count, {
      patched: sides.patched.decode(bytes),
      unpatched: sides.unpatched.decode(bytes),
    }),
  );
}
if (results.some((result) => !result.sameResult)) {
  console.error('the patched kafkajs built different bytes or read different records from the unpatched one');
  process.exitCode = 1;
}
writeFileSync(
  OUT,
  `${JSON.stringify(
    {
      benchmark: 'kafkajs-codec',
      date: new Date().toISOString(),
      command: 'pnpm bench:kafkajs-codec',
      machine: machineInfo(),
      versions: {
        kafkajs: '2.2.4',
        patch: 'patches/kafkajs@2.2.4.patch',
        baseline: 'kafkajs 2.2.4 from npm',
      },
      params: { rounds: ROUNDS, warmup: WARMUP },
      note: 'median ms to partition, group and encode one produce request (v7, acks=all, idempotent), or to read one fetched record batch; same process, rounds alternated; sameResult: the same bytes (encode) or the same records (decode) on both sides',
      results,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${OUT}`);
