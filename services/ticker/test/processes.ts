import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TickerWorld } from './int-support.ts';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** A ticker started as its own process (`node src/main.ts`), as a supervisor would start it. */
export interface TickerProcess {
  child: ChildProcess;
  /** Log lines (pino JSON) as they arrive. */
  lines: { msg?: string; time: number; token?: number }[];
  has(msg: string): boolean;
  at(msg: string): number | undefined;
}

export function startTickerProcess(
  world: TickerWorld,
  instanceId: string,
  settings: Record<string, string> = {},
): TickerProcess {
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      ...world.env({ INSTANCE_ID: instanceId, HTTP_PORT: '0', LOG_LEVEL: 'info', ...settings }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: TickerProcess['lines'] = [];
  let rest = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const text = rest + chunk.toString();
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as TickerProcess['lines'][number]);
      } catch {
        // Not a log line (a runtime warning).
      }
    }
  });
  child.stderr.resume();
  return {
    child,
    lines,
    has: (msg) => lines.some((l) => l.msg === msg),
    at: (msg) => lines.find((l) => l.msg === msg)?.time,
  };
}

export async function stopTickerProcess(ticker: TickerProcess, signal: NodeJS.Signals): Promise<void> {
  if (ticker.child.exitCode !== null || ticker.child.signalCode !== null) return;
  const exited = new Promise((resolve) => ticker.child.once('exit', resolve));
  ticker.child.kill(signal);
  await exited;
}
