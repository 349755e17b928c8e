import { topicSpec } from '@openpenpal/contracts';
import { domainConfigShape } from '@openpenpal/domain';
import { handlerConfigSchema } from '@openpenpal/handler-kit';
import { positiveInt, topicName } from '@openpenpal/service-kit';

/** The settings of this handler besides the kit's and the domain database's. */
export const letterCleanupSettings = {
  ...domainConfigShape,
  /** Where LetterMovedToCleanup goes (through the outbox). */
  HANDLER_LETTER_CLEANUP_EVENTS_TOPIC: topicName.default(topicSpec('openpenpal.letters.cleanup').name),
  /** Where notification requests go (through the outbox). */
  HANDLER_LETTER_CLEANUP_NOTIFICATIONS_TOPIC: topicName.default(
    topicSpec('scheduler.notifications.requested').name,
  ),
  /** Letters looked at per transaction (one short transaction each; memory is bounded by it). */
  HANDLER_LETTER_CLEANUP_BATCH: positiveInt.max(10_000).default(1_000),
  /** Days after the move that the platform deletes a letter for good (told to the author). */
  HANDLER_LETTER_CLEANUP_DELETION_DAYS: positiveInt.max(365).default(7),
};

export const letterCleanupConfigSchema = handlerConfigSchema('letter_cleanup', 8_113, letterCleanupSettings);
