import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, type as osType } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createContracts, type TaskTrigger } from '@openpenpal/contracts';
import type { Redis } from 'ioredis';

export const contracts = createContracts();

/** What the result file says about where it ran. */
export function machineInfo(): Record<string, unknown> {
  const cpu = cpus();
  return {
    os: `${osType()} ${release()}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

export interface LatenessStats {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function latenessStats(values: number[]): LatenessStats {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: sorted.at(-1) ?? 0,
    mean: sorted.length === 0 ? 0 : Math.round((sum / sorted.length) * 10) / 10,
  };
}

/**
 * A TaskTrigger whose Avro single-object encoding is exactly `bytes` long (its `payload` JSON text
 * padded with random characters), so both systems carry the same incompressible 200 bytes.
 */
export function triggerPayload(bytes: number): Buffer {
  const codec = contracts.codec('TaskTrigger');
  const base: TaskTrigger = {
    execution_id: '6f1c9a8e-2b7d-5c3e-8f4a-1d2e3f4a5b6c',
    task_id: 'ai_penpal_reply',
    task_type: 'ai_penpal_reply',
    task_name: 'AI reply',
    timezone: 'Asia/Shanghai',
    nominal_time: 1_767_225_600_000,
    fire_time: 1_767_225_600_000,
    attempt: 1,
    max_retries: 3,
    timeout_secs: 300,
    payload: '',
    source: 'delayed',
    fencing_token: 0,
  };
  for (let filler = Math.max(0, bytes - codec.encode(base).length); filler >= 0; filler -= 1) {
    const text = `{"k":"${randomBytes(filler).toString('base64url').slice(0, filler)}"}`;
    const encoded = codec.encode({ ...base, payload: text });
    if (encoded.length === bytes) return encoded;
    if (encoded.length < bytes) break;
  }
  throw new Error(`cannot build a ${bytes}-byte TaskTrigger`);
}

/** A printable payload of exactly `bytes` characters, for BullMQ's JSON job data. */
export function textPayload(bytes: number): string {
  return randomBytes(bytes).toString('base64url').slice(0, bytes);
}

export const TRACEPARENT = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;

/** Redis's allocated bytes, once memory freed in the background has really been released. */
export async function usedMemory(redis: Redis): Promise<number> {
  for (;;) {
    const info = await redis.info('memory');
    if (Number(/^lazyfree_pending_objects:(\d+)/m.exec(info)?.[1] ?? 0) === 0) {
      return Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
    }
    await sleep(50);
  }
}

export async function redisVersion(redis: Redis): Promise<string> {
  return /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1] ?? 'unknown';
}

export async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    if (keys.length > 0) deleted += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}

/** Runs `work(i)` for i in [0, count) with at most `concurrency` calls in flight. */
export async function pool(
  count: number,
  concurrency: number,
  work: (index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      await work(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Polls until `probe` returns true; returns the time (epoch ms) it first did. */
export async function until(probe: () => Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return Date.now();
    if (Date.now() > deadline) throw new Error(`benchmark condition not met within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/**
 * Calls `tick(count, now)` so that `rate` items per second go out for `seconds`, in 10 ms steps;
 * a late step catches up, so the average rate holds even when one send is slow.
 */
export async function paced(
  rate: number,
  seconds: number,
  tick: (count: number, now: number) => Promise<void>,
): Promise<void> {
  const start = Date.now();
  const total = rate * seconds;
  let sent = 0;
  while (sent < total) {
    const now = Date.now();
    const due = Math.min(total, Math.floor(((now - start) * rate) / 1000));
    if (due > sent) {
      const count = due - sent;
      sent = due;
      await tick(count, now);
    }
    await sleep(10);
  }
}

export const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // Fields 14 and 15 of /proc/<pid>/stat (utime, stime) in clock ticks, here 0-based after the name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

/** Lateness samples grouped by the second they were due in, for a timeline of bad moments. */
export class Timeline {
  readonly #buckets = new Map<number, number[]>();
  readonly #widthMs: number;
  constructor(widthMs = 5_000) {
    this.#widthMs = widthMs;
  }
  add(at: number, value: number): void {
    const bucket = Math.floor(at / this.#widthMs) * this.#widthMs;
    const values = this.#buckets.get(bucket);
    if (values) values.push(value);
    else this.#buckets.set(bucket, [value]);
  }
  /** One row per bucket from `start`: offset (s), count, p99 and max. */
  rows(start: number): { fromS: number; count: number; p99: number; max: number }[] {
    return [...this.#buckets]
      .sort((a, b) => a[0] - b[0])
      .map(([bucket, values]) => {
        const stats = latenessStats(values);
        return {
          fromS: Math.round((bucket - start) / 1000),
          count: stats.count,
          p99: stats.p99,
          max: stats.max,
        };
      });
  }
}

/**
 * Watches Redis for background saves and AOF rewrites (forks that compete for CPU and disk), so
 * lateness outliers can be matched with them. Returns the intervals, relative to `start`, in s.
 */
export function watchPersistence(redis: Redis, start: number) {
  const intervals: { what: string; fromS: number; toS: number }[] = [];
  const open = new Map<string, number>();
  let stopped = false;
  const poll = async (): Promise<void> => {
    while (!stopped) {
      const info = await redis.info('persistence').catch(() => '');
      const now = (Date.now() - start) / 1000;
      for (const [what, field] of [
        ['rdb save', 'rdb_bgsave_in_progress'],
        ['aof rewrite', 'aof_rewrite_in_progress'],
      ] as const) {
        const active = new RegExp(`^${field}:1`, 'm').test(info);
        const since = open.get(what);
        if (active && since === undefined) open.set(what, now);
        if (!active && since !== undefined) {
          intervals.push({ what, fromS: round(since), toS: round(now) });
          open.delete(what);
        }
      }
      await sleep(250);
    }
  };
  const running = poll();
  return {
    stop: async () => {
      stopped = true;
      await running;
      return intervals;
    },
  };
}
