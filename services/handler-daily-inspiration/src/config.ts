import { topicSpec } from '@openpenpal/contracts';
import { domainConfigShape } from '@openpenpal/domain';
import { handlerConfigSchema } from '@openpenpal/handler-kit';
import { positiveInt, topicName } from '@openpenpal/service-kit';
import { z } from 'zod';

/** The settings of this handler besides the kit's and the domain database's. */
export const inspirationSettings = {
  ...domainConfigShape,
  /** Where notification requests go (through the outbox). */
  HANDLER_WRITING_INSPIRATION_PUSH_NOTIFICATIONS_TOPIC: topicName.default(
    topicSpec('scheduler.notifications.requested').name,
  ),
  /** Users claimed per transaction (one short transaction each; memory is bounded by it). */
  HANDLER_WRITING_INSPIRATION_PUSH_BATCH: positiveInt.max(10_000).default(1_000),
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
