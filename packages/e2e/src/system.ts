import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { findWorkspaceRoot } from '@openpenpal/test-kit';
import { startFakeProvider, type FakeProvider } from './fake-provider.ts';
import { createServiceProcess, type ServiceProcess } from './service-process.ts';
import {
  e2eServiceSettings,
  FAKE_CHAT,
  INSPIRATION_PROVIDER_PORT,
  SERVICES,
  type ServiceSpec,
} from './services.ts';

/** What the scenarios need to reach the system (plain values: they cross to the test workers). */
export interface SystemInfo {
  apiUrl: string;
  /** The stack's settings (.stack/env): brokers, the shared database URL, API_JWT_SECRET... */
  stackEnv: Record<string, string>;
  inspirationProviderUrl: string;
  logDir: string;
  services: { name: string; url: string }[];
}

export interface System {
  readonly info: SystemInfo;
  /** Every supervised process by name (the fake chat API is `fake-chat`). */
  readonly processes: ReadonlyMap<string, ServiceProcess>;
  process(name: string): ServiceProcess;
  /** SIGTERM everything, SIGKILL what is left after the deadline; safe to call twice. */
  stop(): Promise<{ name: string; code: number | null; signal: string | null }[]>;
}

export interface SystemOptions {
  /** `.cache/e2e/<time>` by default: one log file per process. */
  logDir?: string;
  readyTimeoutMs?: number;
  stopDeadlineMs?: number;
  /** LOG_LEVEL of the services (their logs go to the files). */
  logLevel?: string;
  /** Progress lines (stderr by default). */
  say?: (line: string) => void;
  /** Settings for one service on top of the e2e run's (`e2eServiceSettings`), by service folder name. */
  serviceEnv?: Record<string, Record<string, string>>;
  /** Start a process again 1 s after it exits by itself, as a supervisor would (the fault suite). */
  restartOnExit?: boolean;
}

/** Fails naming the port and its owner when anything listens on it already. */
export async function assertPortFree(port: number, owner: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `port ${port} (${owner}) is already in use: stop what runs there (dev.sh up? another e2e run?) first`
            : `cannot check port ${port} (${owner}): ${error.message}`,
        ),
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** Runs a command to its end; rejects with its output when it fails. */
function runStep(
  what: string,
  command: string,
  args: readonly string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${what} failed (exit ${code}):\n${output.slice(-4_000)}`)),
    );
  });
}

/**
 * Brings the whole system up the way `deploy/local/dev.sh up` does: the local stack (idempotent;
 * never stopped here), every catalogued topic, OpenPenPal's tables, the demo data and default
 * tasks, then every service as its own process `node services/<x>/src/main.ts` under
 * `deploy/local/service-env.sh` (its own Redis user and PostgreSQL role), and waits until each
 * answers `/readyz`. If anything fails, what was started is stopped again.
 */
export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const say = options.say ?? ((line: string) => process.stderr.write(`[e2e] ${line}\n`));
  const root = findWorkspaceRoot();
  const logDir = options.logDir ?? join(root, '.cache', 'e2e', new Date().toISOString().replaceAll(':', '-'));
  mkdirSync(logDir, { recursive: true });
  const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };

  for (const spec of [...SERVICES, FAKE_CHAT]) await assertPortFree(spec.port, spec.name);
  await assertPortFree(INSPIRATION_PROVIDER_PORT, 'the fake inspiration provider');

  say('the local stack (deploy/local/stack.sh up)');
  await runStep('deploy/local/stack.sh up', 'bash', ['deploy/local/stack.sh', 'up'], {
    cwd: root,
    env: baseEnv,
  });
  const stackEnv = parseEnv(
    readFileSync(process.env.STACK_ENV_FILE ?? join(root, '.stack', 'env'), 'utf8'),
  ) as Record<string, string>;
  const env = { ...baseEnv, ...stackEnv, LOG_LEVEL: 'warn' };
  const domainSchema = stackEnv.PG_DOMAIN_SCHEMA ?? 'openpenpal';
  say('topics, domain tables, demo data');
  await runStep('topics:provision', process.execPath, ['packages/service-kit/src/bin/provision-topics.ts'], {
    cwd: root,
    env,
  });
  await runStep('domain:migrate', process.execPath, ['packages/domain/src/bin/migrate.ts'], {
    cwd: root,
    env: { ...env, DOMAIN_DB_SCHEMA: domainSchema },
  });
  await runStep('seed:demo', process.execPath, ['packages/demo-seed/src/bin/seed-demo.ts'], {
    cwd: root,
    env: {
      ...env,
      DOMAIN_DB_SCHEMA: domainSchema,
      ...(stackEnv.RECORDER_DATABASE_URL
        ? { SEED_EVENT_STORE_DATABASE_URL: stackEnv.RECORDER_DATABASE_URL }
        : {}),
    },
  });

  const processes = new Map<string, ServiceProcess>();
  let provider: FakeProvider | undefined;
  const settings = e2eServiceSettings();
  const serviceEnv = (spec: ServiceSpec, name: string): Record<string, string> => ({
    ...baseEnv,
    ...stackEnv,
    // service-env.sh reads the env file only when STACK_SOURCE is unset: these settings win.
    STACK_SOURCE: stackEnv.STACK_SOURCE ?? 'e2e',
    SERVICE: spec.name,
    LOG_LEVEL: options.logLevel ?? 'info',
    DOMAIN_DB_SCHEMA: domainSchema,
    INSTANCE_ID: `e2e-${name}`,
    ...(name === 'fake-chat'
      ? { FAKE_CHAT_PORT: String(spec.port), FAKE_CHAT_MODE: 'ok', FAKE_CHAT_DELAY_MS: '100' }
      : {}),
    ...(name === spec.name ? settings[spec.name] : {}),
    ...(name === spec.name ? options.serviceEnv?.[spec.name] : {}),
  });
  const add = (spec: ServiceSpec, name: string) => {
    processes.set(
      name,
      createServiceProcess({
        name,
        command: 'bash',
        args: [join(root, 'deploy/local/service-env.sh'), process.execPath, spec.entry],
        cwd: join(root, 'services', spec.name),
        env: serviceEnv(spec, name),
        logDir,
        url: `http://127.0.0.1:${spec.port}`,
        readyPath: spec.readyPath,
        restartOnExit: options.restartOnExit ?? false,
      }),
    );
  };
  add(FAKE_CHAT, 'fake-chat');
  for (const spec of SERVICES) add(spec, spec.name);

  let stopping: Promise<{ name: string; code: number | null; signal: string | null }[]> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const results = await Promise.all(
        [...processes.values()].map(async (proc) => ({
          name: proc.name,
          ...(await proc.stop(options.stopDeadlineMs ?? 15_000)),
        })),
      );
      for (const proc of processes.values()) proc.close();
      await provider?.close();
      return results;
    })());

  try {
    provider = await startFakeProvider(INSPIRATION_PROVIDER_PORT);
    say(`starting ${processes.size} processes; logs in ${logDir}`);
    for (const proc of processes.values()) proc.start();
    const startedAt = Date.now();
    await Promise.all(
      [...processes.values()].map((proc) => proc.waitReady(options.readyTimeoutMs ?? 180_000)),
    );
    say(`every process ready after ${Date.now() - startedAt} ms`);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    info: {
      apiUrl: `http://127.0.0.1:${SERVICES[0]?.port ?? 8_080}`,
      stackEnv,
      inspirationProviderUrl: `http://127.0.0.1:${INSPIRATION_PROVIDER_PORT}`,
      logDir,
      services: [...processes.values()].map((proc) => ({ name: proc.name, url: proc.url })),
    },
    processes,
    process: (name) => {
      const found = processes.get(name);
      if (!found) throw new Error(`no process ${name}: ${[...processes.keys()].join(', ')}`);
      return found;
    },
    stop,
  };
}
