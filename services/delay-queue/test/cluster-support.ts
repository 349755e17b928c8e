import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseEnv, promisify } from 'node:util';
import { findWorkspaceRoot } from '@openpenpal/test-kit';
import type { Redis } from 'ioredis';

/**
 * The cluster profile of the local stack (`STACK_PROFILE=cluster pnpm stack:up`): its env file,
 * its servers' pid files, and a way to bring back what a test killed. Tests on it are skipped when
 * the env file is absent (CI runs the default profile only; `pnpm test:cluster` runs them).
 */
const root = findWorkspaceRoot();
const clusterDir = process.env.CLUSTER_STACK_DIR ?? join(root, '.stack', 'cluster');
const envFile = process.env.CLUSTER_ENV_FILE ?? join(clusterDir, 'env');

export type ClusterEnv = Record<string, string | undefined>;

/** The profile's connection settings, or undefined when it was never started here. */
export function loadClusterEnv(): ClusterEnv | undefined {
  if (!existsSync(envFile)) return undefined;
  const env = parseEnv(readFileSync(envFile, 'utf8'));
  return env.STACK_PROFILE === 'cluster' ? env : undefined;
}

/** Required setting of the env file. */
export function setting(env: ClusterEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${envFile} has no ${name}`);
  return value;
}

/**
 * The pid of a server of the profile (`kafka-2`, `redis-4`), checked to be the one started from
 * the profile's folder: the test kills processes of its own stack only.
 */
function serverPid(node: string): number {
  const file = join(clusterDir, node, node.startsWith('kafka') ? 'kafka.pid' : 'redis.pid');
  const pid = Number(readFileSync(file, 'utf8').trim());
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  // Redis runs in its data folder; a broker names its server.properties there.
  const cwd = node.startsWith('redis') ? readlinkSync(`/proc/${pid}/cwd`) : '';
  if (!cmdline.includes(join(clusterDir, node)) && cwd !== join(clusterDir, node)) {
    throw new Error(`pid ${pid} of ${file} is not the cluster profile's ${node}`);
  }
  return pid;
}

/** SIGKILLs a server and waits until it is gone. */
export async function killServer(node: string): Promise<number> {
  const pid = serverPid(node);
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return pid;
    }
    await sleep(50);
  }
  throw new Error(`${node} (pid ${pid}) still runs after SIGKILL`);
}

const run = promisify(execFile);

/** `STACK_PROFILE=cluster stack.sh up`: starts what is not running (a killed server) again. */
export async function restartStopped(): Promise<void> {
  await run('bash', [join(root, 'deploy/local/stack.sh'), 'up'], {
    env: { ...process.env, STACK_PROFILE: 'cluster' },
    timeout: 240_000,
  });
}

/** `host:port` → the Redis node name of the profile (`redis-<n>`, ports from REDIS_URL's list). */
export function redisNodeOf(env: ClusterEnv, address: string): string {
  const hosts = /@([^/?]+)/.exec(setting(env, 'REDIS_URL'))?.[1]?.split(',') ?? [];
  const index = hosts.indexOf(address);
  if (index < 0) throw new Error(`${address} is not one of the profile's Redis nodes`);
  return `redis-${index + 1}`;
}

type SlotRange = [number, number, [string, number, ...unknown[]], ...[string, number, ...unknown[]][]];

/** The primary and replicas serving a key's slot, from CLUSTER SLOTS on any node. */
export async function slotOwners(
  redis: Redis,
  key: string,
): Promise<{ primary: string; replicas: string[] }> {
  const slot = (await redis.call('CLUSTER', 'KEYSLOT', key)) as number;
  const ranges = (await redis.call('CLUSTER', 'SLOTS')) as SlotRange[];
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  if (!range) throw new Error(`no node serves slot ${slot}`);
  const [, , primary, ...replicas] = range;
  return { primary: `${primary[0]}:${primary[1]}`, replicas: replicas.map(([h, p]) => `${h}:${p}`) };
}
