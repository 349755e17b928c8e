// The measured services, each a process of its own (node <entry>), so /proc gives each one's CPU.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

export interface ServiceProcess {
  pid: number;
  /** SIGTERM, and SIGKILL when it has not exited after 30 s; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts `node <root>/<entry>` with `env` on a free HTTP port and waits until /readyz answers 200. */
export async function spawnService(
  root: string,
  entry: string,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, entry)], {
    env: { ...process.env, ...env, HTTP_PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // A benchmark that dies must not leave the service running.
  const orphanGuard = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', orphanGuard);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((response) => response.status === 200)
      .catch(() => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`${entry} not ready after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    pid: child.pid ?? 0,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
