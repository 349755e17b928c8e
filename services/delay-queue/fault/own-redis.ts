import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RunFolder } from './run-folder.ts';
import { createServerProcess, type ServerProcess } from './server-process.ts';

const run = promisify(execFile);

export interface OwnRedis extends ServerProcess {
  url: string;
  version: string;
}

/**
 * A redis-server of the run's own, persisted like the stack's (append-only file, fsync every
 * second, default RDB snapshots), in the run folder on its own port. A restart after SIGKILL
 * replays the append-only file from the same folder.
 */
export async function createOwnRedis(options: { folder: RunFolder; port: number }): Promise<OwnRedis> {
  const { stdout } = await run('redis-server', ['--version']);
  const version = /v=(\S+)/.exec(stdout)?.[1] ?? stdout.trim();
  const dir = join(options.folder.dir, 'redis');
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'redis.conf');
  writeFileSync(
    conf,
    [
      'bind 127.0.0.1',
      `port ${options.port}`,
      `dir ${dir}`,
      'daemonize no',
      // The log goes to stdout, which the run folder writes to redis.log and reads for readiness.
      'logfile ""',
      'appendonly yes',
      'appendfsync everysec',
      'maxmemory-policy noeviction',
      '',
    ].join('\n'),
  );
  const server = createServerProcess({
    folder: options.folder,
    name: 'redis',
    command: 'redis-server',
    args: [conf],
    ready: /Ready to accept connections/,
    readyTimeoutMs: 60_000,
  });
  return { ...server, url: `redis://127.0.0.1:${options.port}`, version };
}
