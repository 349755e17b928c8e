import { topicSpec } from '@openpenpal/contracts';
import { domainConfigShape } from '@openpenpal/domain';
import { handlerConfigSchema } from '@openpenpal/handler-kit';
import { positiveInt, topicName } from '@openpenpal/service-kit';
import { z } from 'zod';

/** The settings of this handler besides the kit's and the domain database's. */
export const futureLetterSettings = {
  ...domainConfigShape,
  /** Inbound FutureLetterScheduled / FutureLetterCancelled from the letter service. */
  HANDLER_FUTURE_LETTER_UNLOCK_EVENTS_TOPIC: topicName.default(
    topicSpec('openpenpal.letters.future-letters').name,
  ),
  /** Where FutureLetterReleased goes (through the outbox). */
  HANDLER_FUTURE_LETTER_UNLOCK_RELEASED_TOPIC: topicName.default(
    topicSpec('openpenpal.letters.future-letter-released').name,
  ),
  /** Where refused inbound events are reported (InboundEventRejected). */
  HANDLER_FUTURE_LETTER_UNLOCK_REJECTIONS_TOPIC: topicName.default(
    topicSpec('openpenpal.scheduler.inbound-rejections').name,
  ),
  /** Where notification requests go (through the outbox). */
  HANDLER_FUTURE_LETTER_UNLOCK_NOTIFICATIONS_TOPIC: topicName.default(
    topicSpec('scheduler.notifications.requested').name,
  ),
  /** The task id exact-time triggers carry (the seeded task's). */
  HANDLER_FUTURE_LETTER_UNLOCK_TASK_ID: z.string().min(1).max(256).default('future_letter_unlock'),
  /** Attempts of an exact-time release after the first, and its timeout (the seeded task's). */
  HANDLER_FUTURE_LETTER_UNLOCK_MAX_RETRIES: z.coerce.number().int().min(0).max(100).default(3),
  HANDLER_FUTURE_LETTER_UNLOCK_TIMEOUT_SECS: positiveInt.default(300),
  /** Letters released per transaction by the sweep. */
  HANDLER_FUTURE_LETTER_UNLOCK_SWEEP_BATCH: positiveInt.max(10_000).default(500),
};

export const futureLettersConfigSchema = handlerConfigSchema(
  'future_letter_unlock',
  8_110,
  futureLetterSettings,
);
