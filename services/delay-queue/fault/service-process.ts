import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { RunFolder } from './run-folder.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
/** How long a supervisor waits before starting a process that exited by itself again. */
const RESTART_DELAY_MS = 1_000;

type Readiness = 'ready' | 'not_ready' | 'down';

export interface ReadinessChange {
  at: number;
  state: Readiness;
  /** The failing checks of a 503. */
  failing?: string[];
}

export interface UnexpectedExit {
  at: number;
  code: number | null;
  signal: string | null;
  lastLines: string[];
}

/**
 * The delay queue as its own process (`node src/main.ts`), configured only through `env` (nothing
 * is inherited from the caller's environment, so a shell pointing at the shared stack cannot leak
 * into the run). Like a supervisor, it starts the process again when it exits by itself, and it
 * follows `/readyz` the whole time.
 */
export interface DelayQueueProcess {
  readonly url: string;
  /** Spawns a process; returns the spawn time. */
  start(): number;
  /** SIGKILLs the process; resolves with the exit time. */
  kill(): Promise<number>;
  /** SIGTERM and wait: the exit code of a graceful shutdown. */
  stop(deadlineMs: number): Promise<number | null>;
  /** The first time at or after `at` that /readyz answered 200. */
  readyAfter(at: number): number | null;
  waitReady(timeoutMs: number): Promise<number>;
  readonly readiness: readonly ReadinessChange[];
  readonly exits: readonly UnexpectedExit[];
  /** The process's counters (`scheduler_delay_queue_*_total`), or null when it does not answer. */
  scrape(): Promise<Record<string, number> | null>;
  /** Warnings and errors it logged, counted by message. */
  logSummary(): { level: string; msg: string; count: number; firstAt: string }[];
  close(): void;
}

const LEVELS: Record<number, string> = { 40: 'warn', 50: 'error', 60: 'fatal' };

export function createDelayQueueProcess(options: {
  folder: RunFolder;
  env: Record<string, string>;
  httpPort: number;
}): DelayQueueProcess {
  const url = `http://127.0.0.1:${options.httpPort}`;
  let child: ChildProcess | undefined;
  let expectingExit = false;
  let closed = false;
  const readiness: ReadinessChange[] = [];
  const exits: UnexpectedExit[] = [];
  const recent: string[] = [];
  const logged = new Map<string, { level: string; msg: string; count: number; firstAt: number }>();

  const onLine = (line: string): void => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
    if (!line.startsWith('{')) return;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; time?: number };
      const level = LEVELS[entry.level ?? 0];
      if (!level) return;
      const msg = entry.msg ?? '';
      const key = `${level} ${msg}`;
      const seen = logged.get(key);
      if (seen) seen.count += 1;
      else logged.set(key, { level, msg, count: 1, firstAt: entry.time ?? Date.now() });
    } catch {
      // Not a log entry.
    }
  };

  const spawnOne = (): number => {
    expectingExit = false;
    const spawnedAt = Date.now();
    const started = options.folder.spawn('delay-queue', process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
      onLine,
    });
    child = started;
    started.once('exit', (code, signal) => {
      if (expectingExit || closed) return;
      exits.push({ at: Date.now(), code, signal, lastLines: [...recent] });
      setTimeout(() => {
        if (!closed && child === started) spawnOne();
      }, RESTART_DELAY_MS);
    });
    return spawnedAt;
  };

  const probe = async (): Promise<ReadinessChange> => {
    const at = Date.now();
    try {
      // Longer than the runtime's own 2 s Kafka check, so a slow check reads as not ready, not as down.
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3_000) });
      if (response.status === 200) {
        await response.arrayBuffer();
        return { at, state: 'ready' };
      }
      const body = (await response.json()) as { checks?: Record<string, boolean> };
      const failing = Object.entries(body.checks ?? {})
        .filter(([, ok]) => !ok)
        .map(([name]) => name);
      return { at, state: 'not_ready', failing };
    } catch {
      return { at, state: 'down' };
    }
  };

  // A call, so TypeScript does not narrow `closed` to its initial value inside the loop.
  const polling = (): boolean => !closed;
  void (async () => {
    while (polling()) {
      const change = await probe();
      const last = readiness.at(-1);
      if (!last || last.state !== change.state || last.failing?.join() !== change.failing?.join()) {
        readiness.push(change);
      }
      await sleep(200);
    }
  })();

  const readyAfter = (at: number): number | null =>
    readiness.find((change) => change.at >= at && change.state === 'ready')?.at ?? null;

  return {
    url,
    start: spawnOne,
    kill: async () => {
      const running = child;
      if (!running) throw new Error('the delay queue is not running');
      expectingExit = true;
      // Between an exit of its own and the supervisor's restart there is nothing to kill.
      if (running.exitCode !== null || running.signalCode !== null) return Date.now();
      const exited = once(running, 'exit');
      running.kill('SIGKILL');
      await exited;
      return Date.now();
    },
    stop: async (deadlineMs) => {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null)
        return running?.exitCode ?? null;
      expectingExit = true;
      const exited = once(running, 'exit') as Promise<[number | null, string | null]>;
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), deadlineMs);
      const [code] = await exited;
      clearTimeout(timer);
      return code;
    },
    readyAfter,
    waitReady: async (timeoutMs) => {
      const from = Date.now();
      for (;;) {
        const at = readyAfter(from);
        if (at !== null) return at;
        if (Date.now() - from > timeoutMs) {
          throw new Error(`the delay queue was not ready within ${timeoutMs} ms:\n${recent.join('\n')}`);
        }
        await sleep(100);
      }
    },
    readiness,
    exits,
    scrape: async () => {
      try {
        const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3_000) });
        const counters: Record<string, number> = {};
        for (const line of (await response.text()).split('\n')) {
          const match = /^(scheduler_delay_queue_\w+_total)(\{[^}]*\})? (\S+)$/.exec(line);
          if (!match) continue;
          const labels = (match[2] ?? '').replace(/,?service="delay-queue"/, '').replace('{,', '{');
          const name = labels === '{}' ? (match[1] ?? '') : `${match[1] ?? ''}${labels}`;
          counters[name] = (counters[name] ?? 0) + Number(match[3]);
        }
        return counters;
      } catch {
        return null;
      }
    },
    logSummary: () =>
      [...logged.values()]
        .sort((a, b) => b.count - a.count)
        .slice(0, 40)
        .map((entry) => ({ ...entry, firstAt: new Date(entry.firstAt).toISOString() })),
    close: () => {
      closed = true;
    },
  };
}
