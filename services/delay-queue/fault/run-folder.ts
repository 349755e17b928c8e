import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const PREFIX = 'openpenpal-fault-dq-';
const ENTRY_MARK = 'delay-queue.fault';

/**
 * The run's temp folder and every process the run starts. Processes run with the folder as
 * their working directory: that is how `reapStaleRuns` recognises a process of an earlier run
 * whose harness died without cleaning up (SIGKILL), and it never touches any other process.
 */
export interface RunFolder {
  readonly dir: string;
  /** Spawns in its own process group (a Ctrl-C reaches only the harness, which then cleans up). */
  spawn(
    name: string,
    command: string,
    args: readonly string[],
    options?: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void },
  ): ChildProcess;
  /** SIGKILLs every process group still running; synchronous, so it also works in an exit handler. */
  killAll(): void;
  /** Kills what runs and deletes the folder (unless `keep`); safe to call twice. */
  remove(keep: boolean): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cwdOf(pid: number): string | undefined {
  try {
    return realpathSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

function harnessAlive(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(ENTRY_MARK);
  } catch {
    return false;
  }
}

function childrenOf(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'children'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Ends the processes of earlier runs whose harness is gone (only those whose working directory
 * is that run's folder) and deletes their folders, except those kept with --keep. Returns the
 * folders removed.
 */
export function reapStaleRuns(): string[] {
  const removed: string[] = [];
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(PREFIX)) continue;
    const dir = realpathSync(join(tmpdir(), entry));
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(join(dir, 'owner'), 'utf8').trim());
    } catch {
      // A folder without an owner file is one whose harness died while creating it.
    }
    if (Number.isInteger(owner) && harnessAlive(owner)) continue;
    const kept = existsSync(join(dir, 'kept'));
    for (const pid of childrenOf(dir)) {
      if (Number.isInteger(pid) && alive(pid) && cwdOf(pid) === dir) process.kill(pid, 'SIGKILL');
    }
    // A folder kept on purpose (--keep) stays for its logs; its processes are ended all the same.
    if (kept) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

export function createRunFolder(): RunFolder {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), PREFIX)));
  writeFileSync(join(dir, 'owner'), `${process.pid}\n`);
  const children = new Set<ChildProcess>();
  const logs = new Map<string, WriteStream>();
  let removed = false;

  const logOf = (name: string): WriteStream => {
    let log = logs.get(name);
    if (!log) {
      log = createWriteStream(join(dir, `${name}.log`), { flags: 'a' });
      logs.set(name, log);
    }
    return log;
  };

  const killAll = (): void => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
      try {
        // Detached: the pid is the group id, and the group includes a Redis fork (AOF rewrite).
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };

  return {
    dir,
    spawn: (name, command, args, options = {}) => {
      const child = spawn(command, args, {
        cwd: dir,
        env: options.env ?? { PATH: process.env.PATH ?? '' },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      if (child.pid !== undefined) appendFileSync(join(dir, 'children'), `${child.pid}\n`);
      children.add(child);
      child.once('exit', () => children.delete(child));
      const log = logOf(name);
      for (const stream of [child.stdout, child.stderr]) {
        const lines = createInterface({ input: stream, crlfDelay: Infinity });
        lines.on('line', (line) => {
          log.write(`${line}\n`);
          options.onLine?.(line);
        });
      }
      return child;
    },
    killAll,
    remove: (keep) => {
      if (removed) return;
      removed = true;
      killAll();
      for (const log of logs.values()) log.end();
      if (keep) writeFileSync(join(dir, 'kept'), '');
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}
