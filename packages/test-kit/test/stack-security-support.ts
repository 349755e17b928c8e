import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { findWorkspaceRoot, stackEnvFile } from '../src/index.ts';

/**
 * The stack's variables as `loadStackEnv` picks the stack: the caller's environment when it names
 * the whole stack, else the local stack's env file (ACL users included) under the environment.
 */
export function stackVariables(env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  if (env.KAFKA_BROKERS && env.REDIS_URL && env.DATABASE_URL) return { ...env };
  const file = stackEnvFile(env);
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...env };
}

/** A loopback port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Runs stack.sh in a process group of its own: on a timeout the whole group goes (the script and
 * the JVM it runs, a storage format say), not only the shell. The broker runs in a session of its
 * own and is stopped by `down`.
 */
function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  const script = join(findWorkspaceRoot(), 'deploy', 'local', 'stack.sh');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-3_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      output += `\n(timed out after ${timeoutMs} ms)`;
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`stack.sh ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

export interface ScramBroker {
  brokers: string[];
  /** The env file stack.sh wrote: KAFKA_SASL_* of the super user, <SERVICE>_KAFKA_SASL_* per service. */
  variables: Record<string, string | undefined>;
  /** Stops the broker and deletes its data folder; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * A second, throw-away broker in SCRAM mode (`STACK_KAFKA_AUTH=scram stack.sh up kafka`) with its
 * own data folder and ports, so the shared stack is never touched. Stopped again when the start fails.
 */
export async function startScramBroker(timeoutMs = 100_000): Promise<ScramBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'stack-scram-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    STACK_DIR: dir,
    STACK_ENV_FILE: join(dir, 'env'),
    STACK_KAFKA_AUTH: 'scram',
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_HEAP_OPTS: '-Xms64m -Xmx384m -XX:+UseSerialGC',
    STACK_READY_TIMEOUT: String(Math.floor(timeoutMs / 1000)),
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      try {
        await run(['down', 'kafka'], env, 90_000);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    })());
  try {
    await run(['up', 'kafka'], env, timeoutMs);
    const variables = parseEnv(readFileSync(join(dir, 'env'), 'utf8'));
    return { brokers: [`127.0.0.1:${port}`], variables, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/**
 * The names and kafkajs types (`TOPIC_AUTHORIZATION_FAILED`…) of an error and of what it wraps
 * (`originalError`, `cause`, an aggregate's `errors`).
 */
export function kafkaErrorKinds(error: unknown, depth = 0): string[] {
  if (!(error instanceof Error) || depth > 5) return [];
  const { type, originalError, cause, errors } = error as Error & {
    type?: unknown;
    originalError?: unknown;
    errors?: unknown;
  };
  return [
    error.name,
    ...(typeof type === 'string' ? [type] : []),
    ...kafkaErrorKinds(originalError ?? cause, depth + 1),
    ...(Array.isArray(errors) ? errors.flatMap((inner) => kafkaErrorKinds(inner, depth + 1)) : []),
  ];
}
