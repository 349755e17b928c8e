import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type { ExecutionEvent, NotificationRequested, TaskTrigger } from '@openpenpal/contracts';
import { sampleTrigger } from '@openpenpal/contracts/samples';
import { runServiceProcess, startHandlerWorld, type HandlerWorld } from '@openpenpal/handler-testing';
import type { PgTestContext, StackEnv, TopicCollector } from '@openpenpal/test-kit';
import { inspirationService } from '../src/service.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface InspirationWorld extends HandlerWorld {
  notifications: TopicCollector<NotificationRequested>;
  executions: TopicCollector<ExecutionEvent>;
  dlq: TopicCollector<Buffer>;
}

/** The handler with topics, groups and a domain schema of its own. */
export async function startInspirationWorld(
  stack: StackEnv,
  overrides: Record<string, string> = {},
): Promise<InspirationWorld> {
  const world = await startHandlerWorld(stack, {
    service: inspirationService,
    short: 'in',
    topics: { HANDLER_WRITING_INSPIRATION_PUSH_NOTIFICATIONS_TOPIC: 'notify' },
    env: overrides,
    delayQueue: 'none',
  });
  const { env } = world;
  return Object.assign(world, {
    notifications: await world.collect<NotificationRequested>(
      env.HANDLER_WRITING_INSPIRATION_PUSH_NOTIFICATIONS_TOPIC,
      'NotificationRequested',
    ),
    executions: await world.collect<ExecutionEvent>(env.HANDLER_EXECUTION_EVENTS_TOPIC, 'ExecutionEvent'),
    dlq: await world.collectRaw(`${env.HANDLER_TRIGGER_TOPIC}.dlq`),
  });
}

/** The quarter-hourly cron trigger of the seeded task for a nominal time (a new execution each call). */
export function pushTrigger(
  nominal: number,
  payload: Record<string, unknown> = { local_time: '20:00' },
  overrides: Partial<TaskTrigger> = {},
) {
  return sampleTrigger({
    execution_id: randomUUID(),
    task_id: 'writing_inspiration_push',
    task_type: 'writing_inspiration_push',
    task_name: 'Daily Writing Inspiration Push',
    timezone: 'UTC',
    nominal_time: nominal,
    fire_time: nominal,
    payload: JSON.stringify(payload),
    source: 'cron',
    max_retries: 0,
    timeout_secs: 600,
    ...overrides,
  });
}

export interface PreferenceRow {
  user_id: string;
  timezone: string;
  enabled?: boolean;
  language?: string;
  active?: boolean;
}

/** Users and their notification preferences in the world's schema. */
export async function insertPreferences(pg: PgTestContext, rows: readonly PreferenceRow[]): Promise<void> {
  await pg.pool.query(
    `INSERT INTO users (id, username, is_active) SELECT u, u, a FROM unnest($1::text[], $2::bool[]) AS x(u, a)`,
    [rows.map((r) => r.user_id), rows.map((r) => r.active ?? true)],
  );
  await pg.pool.query(
    `INSERT INTO notification_preferences (user_id, timezone, inspiration_enabled, language)
     SELECT u, z, e, l FROM unnest($1::text[], $2::text[], $3::bool[], $4::text[]) AS x(u, z, e, l)`,
    [
      rows.map((r) => r.user_id),
      rows.map((r) => r.timezone),
      rows.map((r) => r.enabled ?? true),
      rows.map((r) => r.language ?? 'zh-CN'),
    ],
  );
}

/** The `result` of the execution's ExecutionSucceeded, parsed; undefined until it arrived. */
export function succeededResult(
  world: InspirationWorld,
  executionId: string,
): Record<string, unknown> | undefined {
  for (const message of world.executions.messages) {
    const value = message.value;
    if (value?.execution_id !== executionId) continue;
    const succeeded = (value.event as Record<string, { result?: string | null } | undefined>)[
      'org.openpenpal.scheduler.ExecutionSucceeded'
    ];
    if (succeeded) return JSON.parse(succeeded.result ?? '{}') as Record<string, unknown>;
  }
  return undefined;
}

/** Runs the handler's entry point as a process with `env`. */
export function runProcess(env: Record<string, string>) {
  return runServiceProcess(MAIN, env);
}
