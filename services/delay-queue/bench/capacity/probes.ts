// What the capacity benchmark reads between its phases: a process's CPU time from /proc (so reading
// it costs the measured process nothing), a redis-server's INFO counters, and the bytes Kafka keeps
// on disk per topic.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** User + system CPU time of a process, µs (10 ms resolution). */
export function processCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1_000_000) / USER_HZ;
}

export interface RedisSnapshot {
  /** calls per command (INFO commandstats), without the benchmark's own INFO. */
  calls: Record<string, number>;
  /** Network bytes in and out, without the benchmark's own INFO requests and replies. */
  netInputBytes: number;
  netOutputBytes: number;
  usedMemory: number;
  /** The server's main thread CPU, µs. */
  cpuUs: number;
}

/** RESP of `INFO everything`: *2, $4 info, $10 everything. */
const INFO_REQUEST_BYTES = 31;

/**
 * Reads a redis-server's counters with INFO, taking the probe's own INFO traffic out of them. The
 * server counts a request when it reads it and a reply after it wrote it, so a snapshot's counters
 * hold its own request but not its own reply. Memory is read once lazily freed objects are gone.
 */
export function createRedisProbe(redis: Redis): { snapshot(): Promise<RedisSnapshot> } {
  let requests = 0;
  let replyBytes = 0;
  const read = async () => {
    requests += 1;
    const ownIn = requests * INFO_REQUEST_BYTES;
    const ownOut = replyBytes;
    const text = await redis.info('everything');
    replyBytes += Buffer.byteLength(text);
    const field = (name: string): number =>
      Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(text)?.[1] ?? 0);
    return { text, field, ownIn, ownOut };
  };
  return {
    snapshot: async () => {
      let info = await read();
      while (info.field('lazyfree_pending_objects') > 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        info = await read();
      }
      const { text, field } = info;
      const calls: Record<string, number> = {};
      for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        if (match[1] !== 'info') calls[match[1] ?? ''] = Number(match[2]);
      }
      return {
        calls,
        netInputBytes: field('total_net_input_bytes') - info.ownIn,
        netOutputBytes: field('total_net_output_bytes') - info.ownOut,
        usedMemory: field('used_memory'),
        cpuUs: Math.round((field('used_cpu_user_main_thread') + field('used_cpu_sys_main_thread')) * 1e6),
      };
    },
  };
}

/** What happened on Redis between two snapshots. */
export function redisDelta(before: RedisSnapshot, after: RedisSnapshot) {
  const calls: Record<string, number> = {};
  for (const [name, count] of Object.entries(after.calls)) {
    const delta = count - (before.calls[name] ?? 0);
    if (delta > 0) calls[name] = delta;
  }
  return {
    commands: Object.values(calls).reduce((sum, n) => sum + n, 0),
    calls,
    netInputBytes: after.netInputBytes - before.netInputBytes,
    netOutputBytes: after.netOutputBytes - before.netOutputBytes,
    usedMemory: after.usedMemory - before.usedMemory,
    cpuUs: after.cpuUs - before.cpuUs,
  };
}

export interface OwnRedis {
  url: string;
  version: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * A redis-server of the benchmark's own on `port`, persisted like the stack's (append-only file,
 * fsync every second, default RDB snapshots), so its counters hold only what the run did.
 */
export async function startOwnRedis(port: number): Promise<OwnRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'capacity-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--appendonly', 'yes'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const orphanGuard = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', orphanGuard);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server not ready: ${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    version: /v=(\S+)/.exec(output)?.[1] ?? 'unknown',
    pid: child.pid ?? 0,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The stack broker's data directory (log.dirs of .stack/kafka/server.properties), when it is there. */
export function kafkaLogDir(root: string): string | undefined {
  const file = join(root, '.stack/kafka/server.properties');
  if (!existsSync(file)) return undefined;
  return /^log\.dirs=(.+)$/m.exec(readFileSync(file, 'utf8'))?.[1]?.trim();
}

/** Bytes of a topic's log segments (every partition, one replica): record batches as Kafka stores them. */
export function topicLogBytes(logDir: string, topic: string): number {
  let bytes = 0;
  for (const entry of readdirSync(logDir)) {
    if (!entry.startsWith(`${topic}-`) || !/^\d+$/.test(entry.slice(topic.length + 1))) continue;
    for (const file of readdirSync(join(logDir, entry))) {
      if (file.endsWith('.log')) bytes += statSync(join(logDir, entry, file)).size;
    }
  }
  return bytes;
}
