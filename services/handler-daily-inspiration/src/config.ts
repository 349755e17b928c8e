import { topicSpec } from '@openpenpal/contracts';
import { domainConfigShape } from '@openpenpal/domain';
import { handlerConfigSchema } from '@openpenpal/handler-kit';
import { positiveInt, topicName } from '@openpenpal/service-kit';
import { z } from 'zod';

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const httpUrl = optionalText.refine(
  (value) => value === undefined || /^https?:\/\/[^\s]+$/.test(value),
  'an http:// or https:// URL',
);

/** The settings of this handler besides the kit's and the domain database's. */
export const inspirationSettings = {
  ...domainConfigShape,
  /** Where notification requests go (through the outbox). */
  HANDLER_WRITING_INSPIRATION_PUSH_NOTIFICATIONS_TOPIC: topicName.default(
    topicSpec('scheduler.notifications.requested').name,
  ),
  /** Users claimed per transaction (one short transaction each; memory is bounded by it). */
  HANDLER_WRITING_INSPIRATION_PUSH_BATCH: positiveInt.max(10_000).default(1_000),
  /** OpenAI-compatible chat completions API (base URL …/v1, model, key): one prompt per zone and day. No URL: the built-in set only. */
  HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_BASE_URL: httpUrl,
  HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_MODEL: z.string().min(1).default('gpt-4o-mini'),
  HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_API_KEY: optionalText,
  /** One chat call's deadline, and tries per zone (the first included; backoff 200 ms doubling). */
  HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_TIMEOUT_MS: positiveInt.max(60_000).default(5_000),
  HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_MAX_ATTEMPTS: positiveInt.max(5).default(3),
  /** Consecutive failed calls that open the circuit, and how long it stays open before a trial call. */
  HANDLER_WRITING_INSPIRATION_PUSH_BREAKER_THRESHOLD: positiveInt.default(3),
  HANDLER_WRITING_INSPIRATION_PUSH_BREAKER_HALF_OPEN_AFTER_MS: positiveInt.default(60_000),
};

export const inspirationConfigSchema = handlerConfigSchema(
  'writing_inspiration_push',
  8_114,
  inspirationSettings,
);

/**
 * The seeded task's payload: the local send time, and the window a trigger covers (the seeded
 * schedule fires every 15 minutes, so every zone is served by exactly one trigger per day).
 */
export const pushPayloadSchema = z.object({
  local_time: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time HH:MM from 00:00 to 23:59')
    .default('20:00'),
  window_minutes: z.number().int().min(1).max(60).default(15),
});
