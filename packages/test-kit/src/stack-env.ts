import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';

/** Where the infrastructure of a test run lives. */
export interface StackEnv {
  /** `local` (deploy/local/stack.sh), `env` (variables set by the caller) or `testcontainers`. */
  source: 'local' | 'env' | 'testcontainers';
  kafkaBrokers: string[];
  redisUrl: string;
  databaseUrl: string;
}

const REQUIRED = ['KAFKA_BROKERS', 'REDIS_URL', 'DATABASE_URL'] as const;

/** The workspace root: the nearest folder upwards holding pnpm-workspace.yaml. */
export function findWorkspaceRoot(from: string = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no pnpm-workspace.yaml above ${from}`);
    dir = parent;
  }
}

/** The path of the env file that `pnpm stack:up` writes (STACK_ENV_FILE overrides it). */
export function stackEnvFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.STACK_ENV_FILE ?? join(findWorkspaceRoot(), '.stack', 'env');
}

function fromVariables(
  vars: Record<string, string | undefined>,
  source: StackEnv['source'],
): StackEnv | undefined {
  if (!REQUIRED.every((name) => vars[name])) return undefined;
  return {
    source,
    kafkaBrokers: (vars.KAFKA_BROKERS ?? '')
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    redisUrl: vars.REDIS_URL ?? '',
    databaseUrl: vars.DATABASE_URL ?? '',
  };
}

/**
 * The stack's connection settings: the caller's environment when it names all three parts,
 * else the local stack's env file, else undefined (then Testcontainers may start one).
 */
export function loadStackEnv(env: NodeJS.ProcessEnv = process.env): StackEnv | undefined {
  const fromEnv = fromVariables(env, 'env');
  if (fromEnv) return fromEnv;
  const file = stackEnvFile(env);
  if (!existsSync(file)) return undefined;
  return fromVariables(parseEnv(readFileSync(file, 'utf8')), 'local');
}
