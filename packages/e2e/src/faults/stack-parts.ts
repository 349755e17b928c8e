import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A part of the local stack the fault suite stops: the parts `deploy/local/stack.sh` knows. */
export type StackPart = 'kafka' | 'redis' | 'postgres';

export interface StackParts {
  /** The server's pid, from `stack.sh status <part>`; null when it does not run. */
  pid(part: StackPart): Promise<number | null>;
  /**
   * Takes the part away: SIGKILL of Kafka and redis-server (what a crash does; Redis keeps what its
   * append-only file holds), a fast shutdown of PostgreSQL (`stack.sh down postgres`, what a restart
   * by an operator or a failover does to its clients). Resolves when it is gone.
   */
  stop(part: StackPart): Promise<number>;
  /** `stack.sh up <part>` on the same data and ports; resolves when it is ready again. */
  start(part: StackPart): Promise<number>;
  /** `stack.sh up`: every part running again (after a run that failed in the middle of a fault). */
  restore(): Promise<void>;
}

function run(root: string, args: readonly string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(root, 'deploy/local/stack.sh'), ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    // `status` exits 1 when a part is down: its output is still the answer.
    child.once('exit', (code) =>
      code === 0 || args[0] === 'status'
        ? resolve(output)
        : reject(new Error(`stack.sh ${args.join(' ')} failed (exit ${code}):\n${output.slice(-2_000)}`)),
    );
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * The stack of the checkout the suite runs in (`<root>/.stack`, or `STACK_DIR` as the caller's
 * environment gives it): never another one. In CI that is the CI's own stack; locally, run the
 * suite in a checkout whose stack nobody else uses.
 */
export function createStackParts(root: string, env: Record<string, string>): StackParts {
  const pid = async (part: StackPart): Promise<number | null> => {
    const output = await run(root, ['status', part], env);
    const match = new RegExp(`^${part}\\s+running\\s+pid (\\d+)`, 'm').exec(output);
    return match?.[1] ? Number(match[1]) : null;
  };
  return {
    pid,
    stop: async (part) => {
      if (part === 'postgres') {
        await run(root, ['down', 'postgres'], env);
        return Date.now();
      }
      const found = await pid(part);
      if (found === null) throw new Error(`${part} does not run: nothing to kill`);
      process.kill(found, 'SIGKILL');
      while (alive(found)) await sleep(20);
      return Date.now();
    },
    start: async (part) => {
      await run(root, ['up', part], env);
      return Date.now();
    },
    restore: async () => {
      await run(root, ['up'], env);
    },
  };
}
