import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type {
  AiReplyDelivered,
  AiReplyRequested,
  InboundEventRejected,
  NotificationRequested,
} from '@openpenpal/contracts';
import { runServiceProcess, startHandlerWorld, type HandlerWorld } from '@openpenpal/handler-testing';
import type { PgTestContext, StackEnv, TopicCollector } from '@openpenpal/test-kit';
import { startFakeChatApi, type FakeChatApi } from '../src/fake/fake-chat-api.ts';
import { aiRepliesService } from '../src/service.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface ReplyWorld extends HandlerWorld {
  chat: FakeChatApi;
  delivered: TopicCollector<AiReplyDelivered>;
  notifications: TopicCollector<NotificationRequested>;
  rejections: TopicCollector<InboundEventRejected>;
  request(request: Omit<AiReplyRequested, 'eventId'> & { eventId?: string }): Promise<string>;
}

/** The handler with its own topics, groups and domain schema, the real delay queue and a fake chat API. */
export async function startReplyWorld(
  stack: StackEnv,
  extraEnv: Record<string, string> = {},
  options: { service?: boolean } = {},
): Promise<ReplyWorld> {
  const chat = await startFakeChatApi();
  const world = await startHandlerWorld(stack, {
    service: aiRepliesService,
    short: 'ai',
    topics: {
      HANDLER_AI_PENPAL_REPLY_REQUESTS_TOPIC: 'requests',
      HANDLER_AI_PENPAL_REPLY_DELIVERED_TOPIC: 'delivered',
      HANDLER_AI_PENPAL_REPLY_REJECTIONS_TOPIC: 'rejected',
      HANDLER_AI_PENPAL_REPLY_NOTIFICATIONS_TOPIC: 'notify',
    },
    env: {
      HANDLER_AI_PENPAL_REPLY_PROVIDER_BASE_URL: chat.baseUrl,
      HANDLER_AI_PENPAL_REPLY_PROVIDER_MODEL: 'fake-model',
      HANDLER_AI_PENPAL_REPLY_PROVIDER_API_KEY: 'test-key',
      HANDLER_AI_PENPAL_REPLY_PROVIDER_TIMEOUT_MS: '1000',
      HANDLER_AI_PENPAL_REPLY_PROVIDER_RETRY_INITIAL_DELAY_MS: '50',
      HANDLER_AI_PENPAL_REPLY_PROVIDER_RETRY_MAX_DELAY_MS: '200',
      ...extraEnv,
    },
    startService: options.service,
    triggerKey: (trigger) => trigger.business_key ?? trigger.task_id,
  });
  world.onClose(() => chat.close());
  const { env, producer } = world;
  return Object.assign(world, {
    chat,
    delivered: await world.collect<AiReplyDelivered>(
      env.HANDLER_AI_PENPAL_REPLY_DELIVERED_TOPIC,
      'AiReplyDelivered',
    ),
    notifications: await world.collect<NotificationRequested>(
      env.HANDLER_AI_PENPAL_REPLY_NOTIFICATIONS_TOPIC,
      'NotificationRequested',
    ),
    rejections: await world.collect<InboundEventRejected>(
      env.HANDLER_AI_PENPAL_REPLY_REJECTIONS_TOPIC,
      'InboundEventRejected',
    ),
    request: async (request: Omit<AiReplyRequested, 'eventId'> & { eventId?: string }) => {
      const eventId = request.eventId ?? randomUUID();
      await producer.send(
        { topic: env.HANDLER_AI_PENPAL_REPLY_REQUESTS_TOPIC!, schema: 'AiReplyRequested' },
        [{ key: request.userId, value: { ...request, eventId } }],
      );
      return eventId;
    },
  });
}

/** A user with preferences (quiet hours in their zone; null = none) and one letter of theirs. */
export async function insertUserWithLetter(
  pg: PgTestContext,
  options: { userId: string; letterId: string; quietHours?: string | null; timezone?: string },
): Promise<void> {
  await pg.pool.query(
    `INSERT INTO notification_preferences (user_id, quiet_hours, timezone) VALUES ($1, $2, $3)`,
    [options.userId, options.quietHours ?? null, options.timezone ?? 'Asia/Shanghai'],
  );
  await pg.pool.query(
    `INSERT INTO letters (id, user_id, author_id, title, content, status) VALUES ($1, $2, $2, 'Hello', 'A letter to a pen pal.', 'delivered')`,
    [options.letterId, options.userId],
  );
}

export async function replyRow(pg: PgTestContext, letterId: string) {
  const { rows } = await pg.pool.query<{
    id: string;
    status: string;
    scheduled_at: Date;
    sent_at: Date | null;
    reply_letter_id: string | null;
    provider: string | null;
    fallback: boolean;
  }>('SELECT * FROM ai_replies WHERE original_letter_id = $1', [letterId]);
  return rows;
}

export async function replyLetters(pg: PgTestContext, letterId: string) {
  const { rows } = await pg.pool.query<{
    id: string;
    user_id: string;
    author_id: string;
    type: string;
    reply_to: string;
    content: string;
    metadata: { ai_reply: { fallback: boolean; provider: string } };
  }>('SELECT * FROM letters WHERE reply_to = $1', [letterId]);
  return rows;
}

/** Runs the handler's entry point as a process with `env`. */
export function runProcess(env: Record<string, string>) {
  return runServiceProcess(MAIN, env);
}
