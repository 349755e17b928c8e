import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseEnv, promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

/**
 * The servers of one cluster profile folder (`deploy/local/cluster.sh`): its env file, the pid of
 * each node (checked to belong to that folder before a kill), the Redis slot map, and `up` with the
 * ports the folder was created with, so a killed node comes back where it was.
 */
export interface ClusterStack {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly brokers: string[];
  readonly redisNodes: string[];
  /** SIGKILLs `kafka-2` or `redis-5`; resolves once the process is gone. */
  kill(node: string): Promise<{ pid: number; exitedAt: number }>;
  /** `stack.sh up` with the folder's own ports: starts what does not run. */
  up(): Promise<void>;
  /** The Redis node (`redis-3`) serving a key's slot as primary, and its replicas. */
  slotOwners(key: string): Promise<{ primary: string; replicas: string[] }>;
  /** `master` or `slave`, from the node itself; null when it does not answer. */
  redisRole(node: string): Promise<string | null>;
  /** Kafka's node (`kafka-1`) of a `host:port`. */
  brokerNode(address: string): string;
  close(): void;
}

export function openClusterStack(root: string, dir: string): ClusterStack {
  const envFile = join(dir, 'env');
  if (!existsSync(envFile)) {
    throw new Error(
      `${envFile} is missing: start the cluster profile first (STACK_PROFILE=cluster pnpm stack:up)`,
    );
  }
  const env = parseEnv(readFileSync(envFile, 'utf8')) as Record<string, string>;
  if (env.STACK_PROFILE !== 'cluster') throw new Error(`${envFile} is not a cluster profile's env file`);
  const brokers = (env.KAFKA_BROKERS ?? '').split(',');
  const redisUrl = env.REDIS_URL ?? '';
  const redisNodes = /@([^/?]+)/.exec(redisUrl)?.[1]?.split(',') ?? [];
  const password = decodeURIComponent(/^redis:\/\/[^:]*:([^@]*)@/.exec(redisUrl)?.[1] ?? '');
  const portOf = (address: string) => Number(address.split(':')[1]);
  const controllerPort = /CONTROLLER:\/\/[^:]+:(\d+)/.exec(
    readFileSync(join(dir, 'kafka-1', 'server.properties'), 'utf8'),
  )?.[1];
  const pgPort = /@[^:]+:(\d+)\//.exec(env.DATABASE_URL ?? '')?.[1];
  const standbyPort = /@[^:]+:(\d+)\//.exec(env.DATABASE_STANDBY_URL ?? '')?.[1];
  const ports = {
    STACK_PROFILE: 'cluster',
    STACK_DIR: dir,
    KAFKA_PORT: String(portOf(brokers[0] ?? '')),
    KAFKA_CONTROLLER_PORT: controllerPort ?? '',
    REDIS_PORT: String(portOf(redisNodes[0] ?? '')),
    PG_PORT: pgPort ?? '',
    PG_STANDBY_PORT: standbyPort ?? '',
  };
  for (const [name, value] of Object.entries(ports)) {
    if (!value || value === 'NaN') throw new Error(`cannot tell the cluster profile's ${name} from ${dir}`);
  }

  const pidOf = (node: string): number => {
    const file = join(dir, node, node.startsWith('kafka') ? 'kafka.pid' : 'redis.pid');
    const pid = Number(readFileSync(file, 'utf8').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const cwd = node.startsWith('redis') ? readlinkSync(`/proc/${pid}/cwd`) : '';
    if (!cmdline.includes(join(dir, node)) && cwd !== join(dir, node)) {
      throw new Error(`pid ${pid} of ${file} is not ${node} of ${dir}`);
    }
    return pid;
  };

  const clients = new Map<string, Redis>();
  const nodeClient = (address: string): Redis => {
    let client = clients.get(address);
    if (!client) {
      client = new Redis({
        host: address.split(':')[0],
        port: portOf(address),
        password,
        lazyConnect: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 1_000,
        retryStrategy: () => 500,
      });
      client.on('error', () => undefined);
      clients.set(address, client);
    }
    return client;
  };
  const redisNodeName = (address: string): string => {
    const index = redisNodes.indexOf(address);
    if (index < 0) throw new Error(`${address} is not a Redis node of ${dir}`);
    return `redis-${index + 1}`;
  };

  return {
    dir,
    env,
    brokers,
    redisNodes,
    kill: async (node) => {
      const pid = pidOf(node);
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 200; i += 1) {
        try {
          process.kill(pid, 0);
        } catch {
          return { pid, exitedAt: Date.now() };
        }
        await sleep(25);
      }
      throw new Error(`${node} (pid ${pid}) still runs after SIGKILL`);
    },
    up: async () => {
      await run('bash', [join(root, 'deploy/local/stack.sh'), 'up'], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...ports },
        timeout: 240_000,
      });
    },
    slotOwners: async (key) => {
      for (const address of redisNodes) {
        try {
          const client = nodeClient(address);
          const slot = (await client.call('CLUSTER', 'KEYSLOT', key)) as number;
          type Range = [number, number, [string, number], ...[string, number][]];
          const ranges = (await client.call('CLUSTER', 'SLOTS')) as Range[];
          const range = ranges.find(([from, to]) => slot >= from && slot <= to);
          if (!range) continue;
          const [, , primary, ...replicas] = range;
          return {
            primary: redisNodeName(`${primary[0]}:${primary[1]}`),
            replicas: replicas.map(([host, port]) => redisNodeName(`${host}:${port}`)),
          };
        } catch {
          // That node is down (the one just killed): ask the next.
        }
      }
      throw new Error(`no Redis node of ${dir} tells who serves ${key}`);
    },
    redisRole: async (node) => {
      const address = redisNodes[Number(node.replace('redis-', '')) - 1];
      if (!address) throw new Error(`no ${node} in ${dir}`);
      try {
        const role = (await nodeClient(address).call('ROLE')) as [string, ...unknown[]];
        return role[0];
      } catch {
        return null;
      }
    },
    brokerNode: (address) => {
      const index = brokers.indexOf(address);
      if (index < 0) throw new Error(`${address} is not a broker of ${dir}`);
      return `kafka-${index + 1}`;
    },
    close: () => {
      for (const client of clients.values()) client.disconnect();
    },
  };
}
