import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

type Readiness = 'ready' | 'not_ready' | 'down';

export interface ReadinessChange {
  at: number;
  state: Readiness;
  /** The failing checks of a 503. */
  failing?: string[];
}

export interface ProcessExit {
  at: number;
  code: number | null;
  signal: string | null;
  /** Whether the harness ended it (kill, stop) or it exited by itself. */
  expected: boolean;
  lastLines: string[];
}

export interface ServiceProcessOptions {
  name: string;
  command: string;
  args: readonly string[];
  cwd: string;
  /** The whole environment: nothing is inherited from the caller's. */
  env: Record<string, string>;
  /** Where `<name>.log` is written. */
  logDir: string;
  /** The ops server; readiness is followed on `readyPath` there. */
  url: string;
  /** `/readyz` for a service; null when any HTTP answer means ready (a fake provider). */
  readyPath: string | null;
  /** Start again after an exit of its own (as a supervisor would); off by default. */
  restartOnExit?: boolean;
}

/**
 * One process of the system, supervised: spawned in its own process group (a SIGKILL reaches the
 * node process even through the service-env.sh `exec`), its output in a log file, its readiness
 * followed every 200 ms the whole time, every exit recorded. `kill` and `start` are what the fault
 * suite uses; `stop` is the graceful end (SIGTERM, SIGKILL after the deadline).
 */
export interface ServiceProcess {
  readonly name: string;
  readonly url: string;
  readonly running: boolean;
  /** Spawns the process; returns the spawn time. */
  start(): number;
  /** SIGKILLs the process group; resolves with the exit time. */
  kill(): Promise<number>;
  /** SIGTERM, then SIGKILL after `deadlineMs`: the exit code (null when killed). */
  stop(deadlineMs: number): Promise<{ code: number | null; signal: string | null }>;
  /** kill() then start(): the time it was ready again. */
  restart(options?: { readyTimeoutMs?: number }): Promise<number>;
  /** The first time at or after `at` that it answered ready. */
  readyAfter(at: number): number | null;
  waitReady(timeoutMs: number): Promise<number>;
  readonly readiness: readonly ReadinessChange[];
  readonly exits: readonly ProcessExit[];
  /** The last lines it wrote. */
  recentLines(): string[];
  /** Stops polling and closes the log; the process must have ended. */
  close(): void;
}

const RESTART_DELAY_MS = 1_000;
const RECENT_LINES = 40;

export function createServiceProcess(options: ServiceProcessOptions): ServiceProcess {
  let child: ChildProcess | undefined;
  let expectingExit = false;
  let closed = false;
  let spawnedAt = 0;
  /** The newest probe, recorded or not (a restart within one poll leaves no change behind). */
  let lastProbe: ReadinessChange | undefined;
  const readiness: ReadinessChange[] = [];
  const exits: ProcessExit[] = [];
  const recent: string[] = [];
  const log: WriteStream = createWriteStream(join(options.logDir, `${options.name}.log`), { flags: 'a' });

  const isRunning = (proc: ChildProcess | undefined): boolean =>
    proc !== undefined && proc.exitCode === null && proc.signalCode === null;

  const start = (): number => {
    if (isRunning(child)) throw new Error(`${options.name} is already running (pid ${child?.pid ?? '?'})`);
    expectingExit = false;
    spawnedAt = Date.now();
    const started = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    log.write(`--- ${new Date(spawnedAt).toISOString()} started (pid ${started.pid ?? '?'})\n`);
    for (const stream of [started.stdout, started.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        log.write(`${line}\n`);
        recent.push(line);
        if (recent.length > RECENT_LINES) recent.shift();
      });
    }
    started.once('exit', (code, signal) => {
      const expected = expectingExit || closed;
      exits.push({ at: Date.now(), code, signal, expected, lastLines: [...recent] });
      log.write(`--- ${new Date().toISOString()} exited (code ${code}, signal ${signal})\n`);
      if (expected || !options.restartOnExit) return;
      setTimeout(() => {
        if (!closed && child === started) start();
      }, RESTART_DELAY_MS);
    });
    return spawnedAt;
  };

  const signalGroup = (proc: ChildProcess, signal: NodeJS.Signals): void => {
    try {
      if (proc.pid !== undefined) process.kill(-proc.pid, signal);
    } catch {
      // Already gone.
    }
  };

  const kill = async (): Promise<number> => {
    const running = child;
    expectingExit = true;
    if (running === undefined || !isRunning(running)) return Date.now();
    const exited = once(running, 'exit');
    signalGroup(running, 'SIGKILL');
    await exited;
    return Date.now();
  };

  const stop = async (deadlineMs: number): Promise<{ code: number | null; signal: string | null }> => {
    const running = child;
    expectingExit = true;
    if (running === undefined) return { code: null, signal: null };
    if (!isRunning(running)) return { code: running.exitCode, signal: running.signalCode };
    const exited = once(running, 'exit') as Promise<[number | null, string | null]>;
    // The node process only: service-env.sh exec'd it, so the group leader is node itself.
    running.kill('SIGTERM');
    const timer = setTimeout(() => signalGroup(running, 'SIGKILL'), deadlineMs);
    const [code, signal] = await exited;
    clearTimeout(timer);
    return { code, signal };
  };

  const probe = async (): Promise<ReadinessChange> => {
    const at = Date.now();
    try {
      const response = await fetch(`${options.url}${options.readyPath ?? '/'}`, {
        signal: AbortSignal.timeout(3_000),
      });
      if (options.readyPath === null || response.status === 200) {
        await response.arrayBuffer();
        return { at, state: 'ready' };
      }
      const body = (await response.json().catch(() => ({}))) as { checks?: Record<string, unknown> };
      const failing = Object.entries(body.checks ?? {})
        .filter(
          ([, check]) =>
            check === false || (typeof check === 'object' && check !== null && !('ok' in check && check.ok)),
        )
        .map(([name]) => name);
      return { at, state: 'not_ready', failing };
    } catch {
      return { at, state: 'down' };
    }
  };

  const polling = (): boolean => !closed;
  void (async () => {
    while (polling()) {
      const change = await probe();
      lastProbe = change;
      const last = readiness.at(-1);
      if (!last || last.state !== change.state || last.failing?.join() !== change.failing?.join()) {
        readiness.push(change);
      }
      await sleep(200);
    }
  })();

  const readyAfter = (at: number): number | null =>
    readiness.find((change) => change.at >= at && change.state === 'ready')?.at ?? null;

  const waitReady = async (timeoutMs: number): Promise<number> => {
    const from = Date.now();
    for (;;) {
      // Ready now, asked after the running process was spawned (the process that answered is it).
      const seen = lastProbe;
      if (seen?.state === 'ready' && seen.at >= spawnedAt && isRunning(child)) {
        return readyAfter(spawnedAt) ?? seen.at;
      }
      const exit = exits.at(-1);
      if (!isRunning(child) && exit && !options.restartOnExit) {
        throw new Error(
          `${options.name} exited (code ${exit.code}, signal ${exit.signal}) before it was ready:\n${exit.lastLines.join('\n')}`,
        );
      }
      if (Date.now() - from > timeoutMs) {
        const state = readiness.at(-1);
        throw new Error(
          `${options.name} was not ready within ${timeoutMs} ms (${state?.state ?? 'no answer'}${
            state?.failing?.length ? `: ${state.failing.join(', ')}` : ''
          }):\n${recent.join('\n')}`,
        );
      }
      await sleep(100);
    }
  };

  return {
    name: options.name,
    url: options.url,
    get running() {
      return isRunning(child);
    },
    start,
    kill,
    stop,
    restart: async ({ readyTimeoutMs = 60_000 } = {}) => {
      await kill();
      const at = start();
      await waitReady(readyTimeoutMs);
      return readyAfter(at) ?? Date.now();
    },
    readyAfter,
    waitReady,
    readiness,
    exits,
    recentLines: () => [...recent],
    close: () => {
      closed = true;
      log.end();
    },
  };
}
