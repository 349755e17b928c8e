import { join } from 'node:path';
import {
  createServiceProcess,
  FAKE_CHAT,
  SERVICES,
  startFakeProvider,
  type FakeProvider,
  type ServiceProcess,
} from '@openpenpal/e2e';

/**
 * Two (or more) instances of each service on the cluster profile, each as its own supervised
 * process (the e2e harness's `createServiceProcess`: own process group, log file, readiness
 * followed every 200 ms), under `deploy/local/service-env.sh` with the service's own logins from
 * the profile's env file. Ports are the run's own (`basePort` + 10 × service + instance), never
 * the e2e system's fixed 8080/81xx.
 */
export interface Replicas {
  /** Every process, `<service>-<n>` (1-based). */
  readonly processes: ReadonlyMap<string, ServiceProcess>;
  instancesOf(service: string): ServiceProcess[];
  startAll(readyTimeoutMs: number): Promise<number>;
  stopAll(deadlineMs: number): Promise<{ name: string; code: number | null; signal: string | null }[]>;
}

export interface ReplicaOptions {
  root: string;
  logDir: string;
  stackEnv: Record<string, string>;
  /** Which services run (names under services/); all of SERVICES by default. */
  services: readonly string[];
  instances: number;
  basePort: number;
  /** Settings per service on top of the stack's (lease tokens, extra topics…). */
  settings: Record<string, Record<string, string>>;
}

export async function startReplicas(
  options: ReplicaOptions,
): Promise<Replicas & { provider?: FakeProvider }> {
  const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  const processes = new Map<string, ServiceProcess>();
  const wanted = SERVICES.filter((spec) => options.services.includes(spec.name));
  const unknown = options.services.filter((name) => !SERVICES.some((spec) => spec.name === name));
  if (unknown.length > 0) throw new Error(`no such services: ${unknown.join(', ')}`);

  // The AI replies and the daily inspiration need their providers: a fake chat API and a fake prompt provider of the run's own.
  const chatPort = options.basePort + 900;
  const promptPort = options.basePort + 901;
  const needsChat = wanted.some((spec) => spec.name === 'handler-ai-replies');
  const needsPrompts = wanted.some((spec) => spec.name === 'handler-daily-inspiration');
  const extra: Record<string, Record<string, string>> = {
    'handler-ai-replies': {
      HANDLER_AI_PENPAL_REPLY_PROVIDER_BASE_URL: `http://127.0.0.1:${chatPort}/v1`,
      HANDLER_AI_PENPAL_REPLY_PROVIDER_MODEL: 'gpt-4o-mini',
      HANDLER_AI_PENPAL_REPLY_DEFAULT_QUIET_HOURS: '',
    },
    'handler-daily-inspiration': {
      HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_BASE_URL: `http://127.0.0.1:${promptPort}/v1`,
    },
  };

  const add = (
    name: string,
    cwd: string,
    entry: string,
    port: number,
    env: Record<string, string>,
    ready: boolean,
  ) => {
    processes.set(
      name,
      createServiceProcess({
        name,
        command: 'bash',
        args: [join(options.root, 'deploy/local/service-env.sh'), process.execPath, entry],
        cwd,
        env: { ...baseEnv, ...options.stackEnv, ...env },
        logDir: options.logDir,
        url: `http://127.0.0.1:${port}`,
        readyPath: ready ? '/readyz' : null,
      }),
    );
  };
  if (needsChat) {
    add(
      'fake-chat',
      join(options.root, 'services', FAKE_CHAT.name),
      FAKE_CHAT.entry,
      chatPort,
      {
        SERVICE: FAKE_CHAT.name,
        FAKE_CHAT_PORT: String(chatPort),
        FAKE_CHAT_MODE: 'ok',
        FAKE_CHAT_DELAY_MS: '100',
      },
      false,
    );
  }
  wanted.forEach((spec, s) => {
    for (let n = 1; n <= options.instances; n += 1) {
      const port = options.basePort + s * 10 + n;
      add(
        `${spec.name}-${n}`,
        join(options.root, 'services', spec.name),
        spec.entry,
        port,
        {
          SERVICE: spec.name,
          INSTANCE_ID: `cluster-proof-${spec.name}-${n}`,
          HTTP_PORT: String(port),
          LOG_LEVEL: 'info',
          OTEL_SDK_DISABLED: 'true',
          ...extra[spec.name],
          ...options.settings[spec.name],
        },
        true,
      );
    }
  });
  const provider = needsPrompts ? await startFakeProvider(promptPort) : undefined;

  return {
    processes,
    ...(provider ? { provider } : {}),
    instancesOf: (service) =>
      [...processes.entries()].filter(([name]) => name.replace(/-\d+$/, '') === service).map(([, p]) => p),
    startAll: async (readyTimeoutMs) => {
      const from = Date.now();
      for (const proc of processes.values()) proc.start();
      await Promise.all([...processes.values()].map((proc) => proc.waitReady(readyTimeoutMs)));
      return Date.now() - from;
    },
    stopAll: async (deadlineMs) => {
      const results = await Promise.all(
        [...processes.values()].map(async (proc) => ({ name: proc.name, ...(await proc.stop(deadlineMs)) })),
      );
      for (const proc of processes.values()) proc.close();
      await provider?.close();
      return results;
    },
  };
}
