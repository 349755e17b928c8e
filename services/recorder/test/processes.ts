import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The recorder's entry points, for tests that run them as processes. */
export const SCRIPTS = {
  main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
  rebuild: fileURLToPath(new URL('../src/bin/rebuild.ts', import.meta.url)),
  retryParked: fileURLToPath(new URL('../src/bin/retry-parked.ts', import.meta.url)),
};

export interface Child {
  process: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
}

/** Runs a script of the recorder with `env` over this process's environment. */
export function run(script: string, env: Record<string, string>): Child {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    process: child,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    output: () => output,
  };
}

/** SIGKILLs what still runs and waits for every child to exit. */
export async function reap(children: Child[]): Promise<void> {
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    await child.exited;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}
