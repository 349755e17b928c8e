import { randomUUID } from 'node:crypto';
import type {
  CourierTaskEvent,
  CourierTaskTimeoutEvent,
  ExecutionEvent,
  InboundEventRejected,
  NotificationRequested,
} from '@openpenpal/contracts';
import { startHandlerWorld, type HandlerWorld } from '@openpenpal/handler-testing';
import type { PgTestContext, StackEnv, TopicCollector } from '@openpenpal/test-kit';
import { courierTimeoutsService } from '../src/service.ts';

export interface CourierWorld extends HandlerWorld {
  results: TopicCollector<CourierTaskTimeoutEvent>;
  notifications: TopicCollector<NotificationRequested>;
  rejections: TopicCollector<InboundEventRejected>;
  executions: TopicCollector<ExecutionEvent>;
  dlq: TopicCollector<Buffer>;
  /** Starts one more replica of the handler in this process (same group, same schema). */
  startReplica(): Promise<void>;
  publish(taskId: string, event: CourierTaskEvent['event']): Promise<void>;
}

/** The handler with topics, groups and a domain schema of its own, and the real delay queue. */
export async function startCourierWorld(
  stack: StackEnv,
  overrides: Record<string, string> = {},
): Promise<CourierWorld> {
  const world = await startHandlerWorld(stack, {
    service: courierTimeoutsService,
    short: 'ct',
    topics: {
      HANDLER_COURIER_TIMEOUT_CHECK_EVENTS_TOPIC: 'events',
      HANDLER_COURIER_TIMEOUT_CHECK_RESULTS_TOPIC: 'results',
      HANDLER_COURIER_TIMEOUT_CHECK_REJECTIONS_TOPIC: 'rejected',
      HANDLER_COURIER_TIMEOUT_CHECK_NOTIFICATIONS_TOPIC: 'notify',
    },
    env: overrides,
  });
  const { env, producer } = world;
  return Object.assign(world, {
    results: await world.collect<CourierTaskTimeoutEvent>(
      env.HANDLER_COURIER_TIMEOUT_CHECK_RESULTS_TOPIC,
      'CourierTaskTimeoutEvent',
    ),
    notifications: await world.collect<NotificationRequested>(
      env.HANDLER_COURIER_TIMEOUT_CHECK_NOTIFICATIONS_TOPIC,
      'NotificationRequested',
    ),
    rejections: await world.collect<InboundEventRejected>(
      env.HANDLER_COURIER_TIMEOUT_CHECK_REJECTIONS_TOPIC,
      'InboundEventRejected',
    ),
    executions: await world.collect<ExecutionEvent>(env.HANDLER_EXECUTION_EVENTS_TOPIC, 'ExecutionEvent'),
    dlq: await world.collectRaw(`${env.HANDLER_TRIGGER_TOPIC}.dlq`),
    startReplica: () => world.startService(),
    publish: async (taskId: string, event: CourierTaskEvent['event']) => {
      await producer.send(
        { topic: env.HANDLER_COURIER_TIMEOUT_CHECK_EVENTS_TOPIC!, schema: 'CourierTaskEvent' },
        [{ key: taskId, value: { eventId: randomUUID(), occurredAt: Date.now(), event } }],
      );
    },
  });
}

export interface CourierRow {
  id: string;
  user_id?: string;
  level: number;
  prefix: string | null;
  zone_code?: string;
  status?: string;
  rating?: number;
  max_daily_tasks?: number;
}

export async function insertCouriers(pg: PgTestContext, rows: readonly CourierRow[]): Promise<void> {
  await pg.pool.query(
    `INSERT INTO couriers (id, user_id, name, level, zone_code, managed_op_code_prefix, status, rating, max_daily_tasks)
     SELECT id, user_id, id, level, zone_code, prefix, status, rating, cap
     FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::numeric[], $8::int[])
       AS c(id, user_id, level, zone_code, prefix, status, rating, cap)`,
    [
      rows.map((c) => c.id),
      rows.map((c) => c.user_id ?? `user-${c.id}`),
      rows.map((c) => c.level),
      rows.map((c) => c.zone_code ?? `zone-${c.level}`),
      rows.map((c) => c.prefix),
      rows.map((c) => c.status ?? 'approved'),
      rows.map((c) => c.rating ?? 4.5),
      rows.map((c) => c.max_daily_tasks ?? 10),
    ],
  );
}

export interface TaskRow {
  id: string;
  courier_id: string | null;
  status?: string;
  accepted_at?: Date | null;
  timeout_count?: number;
  last_timeout_notice_at?: Date | null;
  op_code?: string | null;
  letter_code?: string;
}

export async function insertTasks(pg: PgTestContext, rows: readonly TaskRow[]): Promise<void> {
  await pg.pool.query(
    `INSERT INTO courier_tasks (id, courier_id, letter_code, status, accepted_at, deadline, timeout_count,
       last_timeout_notice_at, pickup_op_code, delivery_op_code)
     SELECT id, courier, code, status, accepted, accepted + interval '48 hours', count, notice, op, op
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::int[], $7::timestamptz[], $8::text[])
       AS t(id, courier, code, status, accepted, count, notice, op)`,
    [
      rows.map((t) => t.id),
      rows.map((t) => t.courier_id),
      rows.map((t) => t.letter_code ?? `LC${t.id.slice(-6)}`),
      rows.map((t) => t.status ?? 'accepted'),
      rows.map((t) => (t.accepted_at === undefined ? new Date() : t.accepted_at)),
      rows.map((t) => t.timeout_count ?? 0),
      rows.map((t) => t.last_timeout_notice_at ?? null),
      rows.map((t) => (t.op_code === undefined ? 'PK5F3D' : t.op_code)),
    ],
  );
}

export async function taskState(pg: PgTestContext, id: string) {
  const { rows } = await pg.pool.query<{
    courier_id: string | null;
    status: string;
    accepted_at: Date | null;
    deadline: Date | null;
    timeout_count: number;
    last_timeout_notice_at: Date | null;
  }>(
    'SELECT courier_id, status, accepted_at, deadline, timeout_count, last_timeout_notice_at FROM courier_tasks WHERE id = $1',
    [id],
  );
  return rows[0];
}

export async function histories(pg: PgTestContext, taskId: string) {
  const { rows } = await pg.pool.query<{
    previous_courier_id: string;
    new_courier_id: string;
    assignment_type: string;
    reassignment_reason: string;
  }>(
    'SELECT previous_courier_id, new_courier_id, assignment_type, reassignment_reason FROM task_assignment_histories WHERE task_id = $1',
    [taskId],
  );
  return rows;
}
