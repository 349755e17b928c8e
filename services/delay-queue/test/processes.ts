import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  /** The last 20,000 characters the process wrote (stdout and stderr). */
  output(): string;
  /** Every line the process wrote, as far as it was JSON (pino at the env's LOG_LEVEL). */
  logs(): Record<string, unknown>[];
}

/** The delay queue as its own process (`src/main.ts`), configured by `env`. */
export function spawnService(env: NodeJS.ProcessEnv): ServiceProcess {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-20_000);
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not a log line.
      }
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return { child, output: () => output, logs: () => lines };
}
