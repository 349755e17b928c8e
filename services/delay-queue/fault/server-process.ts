import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { RunFolder } from './run-folder.ts';

/** A server the run starts, SIGKILLs and starts again (Kafka, Redis). */
export interface ServerProcess {
  /** Starts it and resolves once its log says it is ready. */
  start(): Promise<{ spawnedAt: number; readyAt: number }>;
  /** SIGKILLs the running process (not its group: the fault is the server dying); resolves with the exit time. */
  kill(): Promise<number>;
  /** SIGTERM, then SIGKILL after `graceMs`; safe to call when not running. */
  stop(graceMs?: number): Promise<void>;
  /** Called when it exits without being told to. */
  onUnexpectedExit(listener: (description: string) => void): void;
}

export function createServerProcess(options: {
  folder: RunFolder;
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  ready: RegExp;
  readyTimeoutMs: number;
}): ServerProcess {
  let child: ChildProcess | undefined;
  let expectingExit = false;
  let unexpected: ((description: string) => void) | undefined;
  const recent: string[] = [];

  const exited = async (running: ChildProcess): Promise<void> => {
    if (running.exitCode !== null || running.signalCode !== null) return;
    await once(running, 'exit');
  };

  return {
    start: () =>
      new Promise((resolve, reject) => {
        expectingExit = false;
        recent.length = 0;
        const spawnedAt = Date.now();
        let ready = false;
        const timer = setTimeout(() => {
          fail(new Error(`${options.name} not ready after ${options.readyTimeoutMs} ms`));
        }, options.readyTimeoutMs);
        const fail = (error: Error) => {
          clearTimeout(timer);
          expectingExit = true;
          started.kill('SIGKILL');
          reject(new Error(`${error.message}; last output:\n${recent.join('\n')}`));
        };
        const started = options.folder.spawn(options.name, options.command, options.args, {
          ...(options.env ? { env: options.env } : {}),
          onLine: (line) => {
            recent.push(line);
            if (recent.length > 30) recent.shift();
            if (!ready && options.ready.test(line)) {
              ready = true;
              clearTimeout(timer);
              resolve({ spawnedAt, readyAt: Date.now() });
            }
          },
        });
        child = started;
        started.once('error', (error) => fail(error));
        started.once('exit', (code, signal) => {
          if (!ready) {
            fail(new Error(`${options.name} exited during start (${signal ?? `code ${code}`})`));
            return;
          }
          if (!expectingExit) unexpected?.(`${options.name} exited by itself (${signal ?? `code ${code}`})`);
        });
      }),
    kill: async () => {
      const running = child;
      if (!running) throw new Error(`${options.name} is not running`);
      expectingExit = true;
      running.kill('SIGKILL');
      await exited(running);
      return Date.now();
    },
    stop: async (graceMs = 20_000) => {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      expectingExit = true;
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), graceMs);
      await exited(running);
      clearTimeout(timer);
    },
    onUnexpectedExit: (listener) => {
      unexpected = listener;
    },
  };
}
