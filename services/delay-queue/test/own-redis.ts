import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

/**
 * A throwaway redis-server of this test's own, so the test can kill it and start it again on the
 * same port. Without persistence by default; `persistDir` keeps an AOF fsynced on every write
 * there, so data written before a SIGKILL is back after the restart. Only this process is ever
 * killed.
 */
export interface OwnRedis {
  url: string;
  /** Starts the server (again) and resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGKILLs the server this helper started and waits for it to exit. */
  kill(): Promise<void>;
}

export function ownRedis(port: number, options: { persistDir?: string } = {}): OwnRedis {
  let child: ChildProcess | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    start: async () => {
      const started = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          ...(options.persistDir
            ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', options.persistDir]
            : ['--appendonly', 'no']),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      child = started;
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
        started.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('Ready to accept connections')) {
            clearTimeout(timer);
            resolve();
          }
        });
        started.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`redis-server exited with ${code}: ${output}`));
        });
      });
      started.stdout.resume();
    },
    kill: async () => {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = once(running, 'exit');
      running.kill('SIGKILL');
      await exited;
    },
  };
}
