import { topicSpec } from '@openpenpal/contracts';
import { domainConfigShape } from '@openpenpal/domain';
import { handlerConfigSchema } from '@openpenpal/handler-kit';
import { nonNegativeInt, positiveInt, topicName } from '@openpenpal/service-kit';
import { z } from 'zod';

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const httpUrl = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()))
  .refine((value) => value === undefined || /^https?:\/\/[^\s]+$/.test(value), 'an http:// or https:// URL');

/** The settings of this handler besides the kit's and the domain database's. */
export const aiReplySettings = {
  ...domainConfigShape,
  /** Inbound AiReplyRequested from the AI service. */
  HANDLER_AI_PENPAL_REPLY_REQUESTS_TOPIC: topicName.default(topicSpec('openpenpal.ai.reply-requests').name),
  /** Where AiReplyDelivered goes (through the outbox). */
  HANDLER_AI_PENPAL_REPLY_DELIVERED_TOPIC: topicName.default(topicSpec('openpenpal.ai.reply-delivered').name),
  /** Where refused requests are reported (InboundEventRejected). */
  HANDLER_AI_PENPAL_REPLY_REJECTIONS_TOPIC: topicName.default(
    topicSpec('openpenpal.scheduler.inbound-rejections').name,
  ),
  /** Where notification requests go (through the outbox). */
  HANDLER_AI_PENPAL_REPLY_NOTIFICATIONS_TOPIC: topicName.default(
    topicSpec('scheduler.notifications.requested').name,
  ),
  /** The task id exact-time triggers carry (the seeded task's), their retries and timeout. */
  HANDLER_AI_PENPAL_REPLY_TASK_ID: z.string().min(1).max(256).default('ai_penpal_reply'),
  HANDLER_AI_PENPAL_REPLY_MAX_RETRIES: z.coerce.number().int().min(0).max(100).default(3),
  HANDLER_AI_PENPAL_REPLY_TIMEOUT_SECS: positiveInt.default(900),
  /** Replies per user per local day (openpenpal-domain.md §4). */
  HANDLER_AI_PENPAL_REPLY_DAILY_QUOTA: positiveInt.max(1_000).default(5),
  /** One reply per user and persona within this many hours. */
  HANDLER_AI_PENPAL_REPLY_COOLDOWN_HOURS: nonNegativeInt.max(24 * 30).default(24),
  /** Quiet hours of a user without preferences (the platform's default); empty = none. */
  HANDLER_AI_PENPAL_REPLY_DEFAULT_QUIET_HOURS: z.string().default('22:00-08:00'),
  /** OpenAI-compatible chat completions API: base URL (…/v1), model and key. No URL: templates only. */
  HANDLER_AI_PENPAL_REPLY_PROVIDER_BASE_URL: httpUrl,
  HANDLER_AI_PENPAL_REPLY_PROVIDER_MODEL: z.string().min(1).default('gpt-4o-mini'),
  HANDLER_AI_PENPAL_REPLY_PROVIDER_API_KEY: optionalText,
  /** One chat call's deadline, and tries per generation (the first included) with their backoff. */
  HANDLER_AI_PENPAL_REPLY_PROVIDER_TIMEOUT_MS: positiveInt.default(30_000),
  HANDLER_AI_PENPAL_REPLY_PROVIDER_MAX_ATTEMPTS: positiveInt.max(10).default(3),
  HANDLER_AI_PENPAL_REPLY_PROVIDER_RETRY_INITIAL_DELAY_MS: positiveInt.default(500),
  HANDLER_AI_PENPAL_REPLY_PROVIDER_RETRY_MAX_DELAY_MS: positiveInt.default(5_000),
  HANDLER_AI_PENPAL_REPLY_PROVIDER_MAX_TOKENS: positiveInt.max(32_000).default(800),
  /** Consecutive failed calls that open the circuit, and how long it stays open before a trial call. */
  HANDLER_AI_PENPAL_REPLY_BREAKER_THRESHOLD: positiveInt.default(5),
  HANDLER_AI_PENPAL_REPLY_BREAKER_HALF_OPEN_AFTER_MS: positiveInt.default(30_000),
  /** How long a worker holds a claimed reply; another may take it over after that (a dead worker). */
  HANDLER_AI_PENPAL_REPLY_CLAIM_MS: positiveInt.default(300_000),
  /** Due replies generated in parallel per trigger (the named one plus others due, as companions). */
  HANDLER_AI_PENPAL_REPLY_GENERATION_CONCURRENCY: positiveInt.max(1_000).default(32),
};

export const aiRepliesConfigSchema = handlerConfigSchema('ai_penpal_reply', 8_111, aiReplySettings);
