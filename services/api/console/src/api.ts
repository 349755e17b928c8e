/** The API, called with the operator's token (kept in this tab's session storage). */
export const BASE = '/api/v1/scheduler';
export const ADMIN = '/api/admin/scheduler';

export class ApiError extends Error {
  readonly status: number;
  readonly body: { error?: string; code?: string; details?: { field?: string } };
  constructor(status: number, body: ApiError['body']) {
    super(body.error ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
  /** The message; validation answers already name every field (`details.problems`). */
  describe(): string {
    const field = this.body.details?.field;
    return field && !this.message.includes(field) ? `${this.message} (${field})` : this.message;
  }
}

export const session = {
  get token(): string | null {
    return sessionStorage.getItem('console.token');
  },
  set token(value: string | null) {
    if (value === null) sessionStorage.removeItem('console.token');
    else sessionStorage.setItem('console.token', value);
  },
  get jaegerUrl(): string {
    return localStorage.getItem('console.jaeger') ?? 'http://localhost:16686';
  },
  set jaegerUrl(value: string) {
    localStorage.setItem('console.jaeger', value);
  },
};

export async function call<T>(
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<T> {
  const headers: Record<string, string> = { ...options.headers };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  const body: unknown = text === '' ? {} : JSON.parse(text);
  if (!response.ok) throw new ApiError(response.status, body as ApiError['body']);
  return body as T;
}

export interface Task {
  id: string;
  name: string;
  task_type: string;
  cron_expression: string | null;
  timezone: string;
  scheduled_at: string | null;
  next_run_at: string | null;
  last_status: string | null;
  run_count: number;
  failure_count: number;
  is_active: boolean;
  max_retries: number;
  timeout_secs: number;
  revision: number;
}

export interface Execution {
  execution_id: string;
  task_id: string;
  task_type: string;
  status: string;
  attempts: number;
  nominal_time: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  error_code: string | null;
  error_message: string | null;
  source: string | null;
  updated_at: string;
}

export interface RecordedEvent {
  id: string;
  type: string;
  recorded_at: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface SchedulerStatus {
  leader: { instance: string } | null;
  paused: boolean;
  paused_since: string | null;
  paused_by: string | null;
  task_count: number;
  next_runs: { task_id: string; name: string; next_run_at: string }[];
  lag_ms: number;
  delay_queue: { pending: number; in_flight: number };
}

export interface DelayStats {
  pending: number;
  in_flight: number;
  overdue: number;
  by_topic: Record<string, number>;
  complete: boolean;
}

export interface DelayedMessage {
  message_id: string;
  due_at: string;
  state: string;
  attempts: number;
  target_topic: string | null;
  key: string | null;
}

/** Executions updated since `from`, newest first, up to `max` (cursor paging). */
export async function executionsSince(from: number, max: number, status?: string): Promise<Execution[]> {
  const all: Execution[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ from: String(from), limit: '100' });
    if (status) query.set('status', status);
    if (cursor) query.set('cursor', cursor);
    const page: { executions: Execution[]; next_cursor: string | null } = await call(
      'GET',
      `${BASE}/executions?${query.toString()}`,
    );
    all.push(...page.executions);
    cursor = page.next_cursor;
  } while (cursor !== null && all.length < max);
  return all;
}
