import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@openpenpal/test-kit';
import { Redis } from 'ioredis';

/** A redis-server of the test's own on a free loopback port: the test may kill it. */
export interface OwnRedis {
  port: number;
  url: string;
  client: Redis;
  /** SIGKILLs the server (not a shutdown: nothing is flushed or handed over). */
  kill(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function startRedis(dir: string, args: string[]): Promise<OwnRedis> {
  const port = await freePort();
  // No persistence: what a killed primary held is gone, as after a lost machine. No delay before
  // a full sync (diskless replication waits 5 s by default for more replicas to join).
  const child: ChildProcess = spawn(
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
      ...['--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0'],
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${String(code)}): ${output}`)));
  });
  await ready;
  child.stdout?.resume();
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  // After a kill the client's reconnection attempts fail; the test asserts through other clients.
  client.on('error', () => undefined);
  await client.connect();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    client,
    kill: async () => {
      client.disconnect();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * A Redis primary and a replica of it (asynchronous replication, as Redis always replicates), to
 * stage a failover: cut the replica's link, write to the primary (the replica misses it), kill
 * the primary; the replica, promoted when its link was cut, serves on.
 */
export interface RedisPair {
  primary: OwnRedis;
  replica: OwnRedis;
  /** Resolves once the replica has everything the primary acknowledged so far (WAIT). */
  synced(): Promise<void>;
  /** `REPLICAOF NO ONE` on the replica: it stops following and accepts writes. */
  promoteReplica(): Promise<void>;
  close(): Promise<void>;
}

export async function startRedisPair(): Promise<RedisPair> {
  const dir = mkdtempSync(join(tmpdir(), 'ticker-lease-'));
  const primary = await startRedis(dir, []);
  const replicaDir = mkdtempSync(join(tmpdir(), 'ticker-lease-replica-'));
  const replica = await startRedis(replicaDir, ['--replicaof', '127.0.0.1', String(primary.port)]);
  await waitFor(async () => /master_link_status:up/.test(await replica.client.info('replication')), {
    what: 'the replica to sync',
    timeoutMs: 10_000,
  });
  return {
    primary,
    replica,
    synced: async () => {
      const replicas = await primary.client.call('WAIT', '1', '5000');
      if (replicas !== 1) throw new Error(`WAIT answered ${String(replicas)} replicas`);
    },
    promoteReplica: async () => {
      await replica.client.call('REPLICAOF', 'NO', 'ONE');
    },
    close: async () => {
      await primary.kill();
      await replica.kill();
      rmSync(dir, { recursive: true, force: true });
      rmSync(replicaDir, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP proxy on a free loopback port standing for the address clients know Redis by (what a
 * Sentinel-aware client or a virtual IP gives): `switchTo` drops every connection and sends new
 * ones to another server, as a failover does.
 */
export interface RedisProxy {
  url: string;
  switchTo(port: number): void;
  close(): Promise<void>;
}

export async function startRedisProxy(targetPort: number): Promise<RedisProxy> {
  let target = targetPort;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await freePort();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `redis://127.0.0.1:${port}`,
    switchTo: (next) => {
      target = next;
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
