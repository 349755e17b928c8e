// pnpm bench:kafkajs-encode — CPU time kafkajs spends building a produce request (partitioning,
// grouping, record encoding, CRC-32C) with this repository's patch (patches/kafkajs@2.2.4.patch)
// against the unpatched kafkajs 2.2.4 from the npm registry, side by side in one process, round by
// round, and whether both build the same bytes. No broker: this is the JavaScript work a send does
// before its request goes out (the ticker's lag after an instant, a large part of a dispatch batch's).
// Options (env): BENCH_ROUNDS (40 timed per case and side, after 10 warm-up), BENCH_BASELINE_DIR (an
// unpacked kafkajs 2.2.4 package; default: `npm pack kafkajs@2.2.4` into a temporary folder),
// BENCH_OUT (docs/benchmarks/kafkajs-encode.json).
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
const OUT = resolve(root, process.env.BENCH_OUT ?? 'docs/benchmarks/kafkajs-encode.json');
const require = createRequire(import.meta.url);

interface Message {
  key: string;
  value: Buffer;
  timestamp: string;
  headers: Record<string, string>;
}
type Encode = () => Promise<Buffer>;

/** The steps of kafkajs's send for one topic, from a kafkajs package folder. */
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
  return (messages: Message[], partitions: number): Encode => {
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
      return (await request.encode()).buffer;
    };
  };
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

const CASES = [
  { name: 'ticker second, spread: 1,150 triggers, 6 partitions', count: 1_150, keys: 'many', partitions: 6 },
  {
    name: 'ticker instant, aligned: 10,000 triggers, 6 partitions',
    count: 10_000,
    keys: 'many',
    partitions: 6,
  },
  { name: 'dispatch batch: 2,000 messages, one key', count: 2_000, keys: 'one', partitions: 6 },
] as const;

async function timeOnce(encode: Encode): Promise<{ ms: number; bytes: Buffer }> {
  const started = performance.now();
  const bytes = await encode();
  return { ms: performance.now() - started, bytes };
}

const patchedDir = dirname(require.resolve('kafkajs/package.json'));
const baseline = baselineDir();
const sides = { patched: loadKafkajs(patchedDir), unpatched: loadKafkajs(baseline) };
const results = [];
for (const spec of CASES) {
  const list = messages(spec.count, spec.keys);
  const encoders = {
    patched: sides.patched(list, spec.partitions),
    unpatched: sides.unpatched(list, spec.partitions),
  };
  const times: Record<'patched' | 'unpatched', number[]> = { patched: [], unpatched: [] };
  const digests: Record<'patched' | 'unpatched', Set<string>> = { patched: new Set(), unpatched: new Set() };
  for (let round = 0; round < WARMUP + ROUNDS; round += 1) {
    // Alternating which side goes first, so neither always runs on a warmer heap.
    const order = round % 2 === 0 ? (['patched', 'unpatched'] as const) : (['unpatched', 'patched'] as const);
    for (const side of order) {
      const { ms, bytes } = await timeOnce(encoders[side]);
      if (round >= WARMUP) times[side].push(ms);
      digests[side].add(createHash('sha256').update(bytes).digest('hex'));
    }
  }
  const patched = median(times.patched);
  const unpatched = median(times.unpatched);
  const sameBytes =
    digests.patched.size === 1 && [...digests.patched].every((digest) => digests.unpatched.has(digest));
  const result = {
    case: spec.name,
    messages: spec.count,
    medianMs: { patched: Number(patched.toFixed(2)), unpatched: Number(unpatched.toFixed(2)) },
    minMs: {
      patched: Number(Math.min(...times.patched).toFixed(2)),
      unpatched: Number(Math.min(...times.unpatched).toFixed(2)),
    },
    patchedOverUnpatched: Number((patched / unpatched).toFixed(3)),
    sameBytes,
  };
  console.log(JSON.stringify(result));
  results.push(result);
}
if (results.some((result) => !result.sameBytes)) {
  console.error('the patched kafkajs built different bytes from the unpatched one');
  process.exitCode = 1;
}
writeFileSync(
  OUT,
  `${JSON.stringify(
    {
      benchmark: 'kafkajs-encode',
      date: new Date().toISOString(),
      command: 'pnpm bench:kafkajs-encode',
      machine: machineInfo(),
      versions: {
        kafkajs: '2.2.4',
        patch: 'patches/kafkajs@2.2.4.patch',
        baseline: 'kafkajs 2.2.4 from npm',
      },
      params: { rounds: ROUNDS, warmup: WARMUP },
      note: 'median ms to partition, group and encode one produce request (v7, acks=all, idempotent), same process, rounds alternated',
      results,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${OUT}`);
