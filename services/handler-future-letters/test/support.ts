import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type {
  FutureLetterEvent,
  FutureLetterReleased,
  InboundEventRejected,
  NotificationRequested,
} from '@openpenpal/contracts';
import {
  delayQueueMain,
  runServiceProcess,
  startHandlerWorld,
  type HandlerWorld,
} from '@openpenpal/handler-testing';
import type { PgTestContext, StackEnv, TopicCollector } from '@openpenpal/test-kit';
import { futureLettersService } from '../src/service.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface LetterWorld extends HandlerWorld {
  released: TopicCollector<FutureLetterReleased>;
  notifications: TopicCollector<NotificationRequested>;
  rejections: TopicCollector<InboundEventRejected>;
  publish(letterId: string, event: FutureLetterEvent['event'], occurredAt?: number): Promise<void>;
  /** FutureLetterScheduled for many letters in one send. */
  publishMany(letters: readonly { letterId: string; scheduledAt: number }[]): Promise<void>;
}

/** The handler with topics, groups and a domain schema of its own, and the real delay queue. */
export async function startLetterWorld(
  stack: StackEnv,
  /** `delayQueue: 'none'`: the caller runs the delay queue itself (as a process, with `delayQueueEnv`). */
  options: { service?: boolean; env?: Record<string, string>; delayQueue?: 'in-process' | 'none' } = {},
): Promise<LetterWorld> {
  const world = await startHandlerWorld(stack, {
    service: futureLettersService,
    short: 'fl',
    topics: {
      HANDLER_FUTURE_LETTER_UNLOCK_EVENTS_TOPIC: 'events',
      HANDLER_FUTURE_LETTER_UNLOCK_RELEASED_TOPIC: 'released',
      HANDLER_FUTURE_LETTER_UNLOCK_REJECTIONS_TOPIC: 'rejected',
      HANDLER_FUTURE_LETTER_UNLOCK_NOTIFICATIONS_TOPIC: 'notify',
    },
    env: options.env,
    startService: options.service,
    delayQueue: options.delayQueue,
  });
  const { env, producer } = world;
  const eventsTopic = {
    topic: env.HANDLER_FUTURE_LETTER_UNLOCK_EVENTS_TOPIC!,
    schema: 'FutureLetterEvent' as const,
  };
  return Object.assign(world, {
    released: await world.collect<FutureLetterReleased>(
      env.HANDLER_FUTURE_LETTER_UNLOCK_RELEASED_TOPIC,
      'FutureLetterReleased',
    ),
    notifications: await world.collect<NotificationRequested>(
      env.HANDLER_FUTURE_LETTER_UNLOCK_NOTIFICATIONS_TOPIC,
      'NotificationRequested',
    ),
    rejections: await world.collect<InboundEventRejected>(
      env.HANDLER_FUTURE_LETTER_UNLOCK_REJECTIONS_TOPIC,
      'InboundEventRejected',
    ),
    publish: async (letterId: string, event: FutureLetterEvent['event'], occurredAt = Date.now()) => {
      await producer.send(eventsTopic, [
        { key: letterId, value: { eventId: randomUUID(), occurredAt, event } },
      ]);
    },
    publishMany: async (letters: readonly { letterId: string; scheduledAt: number }[]) => {
      await producer.send(
        eventsTopic,
        letters.map(({ letterId, scheduledAt }) => ({
          key: letterId,
          value: {
            eventId: randomUUID(),
            occurredAt: Date.now(),
            event: {
              'org.openpenpal.platform.FutureLetterScheduled': { letterId, scheduledAt, timezone: null },
            },
          },
        })),
      );
    },
  });
}

export interface LetterRow {
  id: string;
  user_id: string;
  recipient_id?: string | null;
  status: string;
  visibility?: string;
  scheduled_at?: Date | null;
  created_at?: Date;
}

/** Inserts letters (the platform's rows) into the world's schema. */
export async function insertLetters(pg: PgTestContext, letters: readonly LetterRow[]): Promise<void> {
  await pg.pool.query(
    `INSERT INTO letters (id, user_id, author_id, recipient_id, status, visibility, scheduled_at, created_at)
     SELECT id, user_id, user_id, recipient_id, status, visibility, scheduled_at, created_at
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[])
       AS l(id, user_id, recipient_id, status, visibility, scheduled_at, created_at)`,
    [
      letters.map((l) => l.id),
      letters.map((l) => l.user_id),
      letters.map((l) => l.recipient_id ?? null),
      letters.map((l) => l.status),
      letters.map((l) => l.visibility ?? 'private'),
      letters.map((l) => l.scheduled_at ?? null),
      letters.map((l) => l.created_at ?? new Date()),
    ],
  );
}

export async function letterState(pg: PgTestContext, id: string) {
  const { rows } = await pg.pool.query<{ status: string; published_at: Date | null }>(
    'SELECT status, published_at FROM letters WHERE id = $1',
    [id],
  );
  return rows[0];
}

/** Runs the handler's entry point (or the delay queue's) as a process with `env`. */
export function runProcess(env: Record<string, string>, which: 'handler' | 'delay-queue' = 'handler') {
  return runServiceProcess(which === 'handler' ? MAIN : delayQueueMain, env);
}
