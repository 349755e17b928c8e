import { afterAll, inject } from 'vitest';
import { createApiClient, type ApiClient } from './client/api.ts';
import { createPlatform, type Platform } from './client/db.ts';
import { createKafkaSide, type KafkaSide } from './client/kafka.ts';
import type { SystemInfo } from './system.ts';

export interface ScenarioContext {
  info: SystemInfo;
  /** The supervisor: SIGKILL, start or restart one of the system's processes. */
  supervisor: Supervisor;
  api: ApiClient;
  kafka: KafkaSide;
  platform: Platform;
}

interface ProcessState {
  name: string;
  running: boolean;
  ready: boolean;
  exits: { at: number; code: number | null; signal: string | null; expected: boolean }[];
}

interface Supervisor {
  act(name: string, action: 'kill' | 'start' | 'restart'): Promise<Record<string, number>>;
  list(): Promise<ProcessState[]>;
}

/** The running system's public surfaces for one scenario file; closed after its tests. */
export function useSystem(): ScenarioContext {
  const info = inject('e2e');
  const secret = info.stackEnv.API_JWT_SECRET;
  const databaseUrl = info.stackEnv.DATABASE_URL;
  if (!secret || !databaseUrl) throw new Error('the stack env has no API_JWT_SECRET or DATABASE_URL');
  const control = inject('e2eControl');
  const context: ScenarioContext = {
    info,
    supervisor: {
      act: async (name, action) => {
        const response = await fetch(`${control}/processes/${name}/${action}`, {
          method: 'POST',
          signal: AbortSignal.timeout(150_000),
        });
        const body = (await response.json()) as Record<string, number>;
        if (response.status !== 200) throw new Error(`${action} ${name}: ${JSON.stringify(body)}`);
        return body;
      },
      list: async () => (await (await fetch(`${control}/processes`)).json()) as ProcessState[],
    },
    api: createApiClient(info.apiUrl, secret),
    kafka: createKafkaSide(info.stackEnv),
    platform: createPlatform(databaseUrl, info.stackEnv.PG_DOMAIN_SCHEMA ?? 'openpenpal'),
  };
  afterAll(async () => {
    await context.kafka.close();
    await context.platform.close();
  });
  return context;
}

export interface ExecutionView {
  execution_id: string;
  task_id: string;
  task_type: string;
  status: string;
  attempts: number;
  source: string | null;
  nominal_time: string | null;
  business_key: string | null;
  original_execution_id: string | null;
  error_code: string | null;
  result: string | null;
  replayed_as: string | null;
}

export interface RecordedEventView {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

/** Polls the API's execution list until one matches (the recorder projects events asynchronously). */
export async function waitForExecution(
  api: ApiClient,
  query: string,
  match: (execution: ExecutionView) => boolean,
  options: { timeoutMs?: number; what: string },
): Promise<ExecutionView> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const page = await api.expect<{ executions: ExecutionView[] }>(
      200,
      'GET',
      `/api/v1/scheduler/executions?${query}`,
    );
    const last = page.executions;
    const found = last.find(match);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${options.what}; last page: ${JSON.stringify(last.slice(0, 5))}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** One execution with its event-store history, through the API. */
export async function executionHistory(
  api: ApiClient,
  executionId: string,
): Promise<{ execution: ExecutionView; events: RecordedEventView[] }> {
  return api.expect(200, 'GET', `/api/v1/scheduler/executions/${executionId}`);
}

/** An execution's `result` (JSON text) as an object; {} when it has none. */
export function resultOf(execution: ExecutionView): Record<string, unknown> {
  return execution.result ? (JSON.parse(execution.result) as Record<string, unknown>) : {};
}
