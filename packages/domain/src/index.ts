// OpenPenPal's data as the scheduler's handlers use it (openpenpal-domain.md §3).
export { domainConfigShape } from './config.ts';
export {
  createFutureLetterRepository,
  type FutureLetterRepository,
  type ReleasedLetter,
  type ReleaseMessages,
  type ScheduleRecord,
} from './future-letters.ts';
export { DOMAIN_NAMESPACE, exactExecutionId, notificationId, rejectionId, resultEventId } from './ids.ts';
export {
  createLetterCleanupRepository,
  type CleanedLetter,
  type CleanupBatch,
  type LetterCleanupRepository,
} from './letter-cleanup.ts';
export {
  assertDomainMigrated,
  DOMAIN_MIGRATIONS_DIR,
  DOMAIN_MIGRATIONS_TABLE,
  migrateDomain,
  pendingDomainMigrations,
} from './migrate.ts';
export { enqueueOutbox, OUTBOX_CHANNEL, type Queryable } from './outbox/outbox.ts';
export { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './outbox/relay.ts';
export { domainSchemaName, qualified } from './schema-name.ts';
export { classifyPgError, inTransaction } from './transaction.ts';
export {
  openDomain,
  reportRefusal,
  startInboundConsumer,
  type DomainParts,
  type InboundTools,
  type Refusal,
} from './service-parts.ts';
export {
  aiReplyId,
  aiReplyLetterId,
  createAiReplyRepository,
  type AiReplyLimits,
  type AiReplyRecord,
  type AiReplyRepository,
  type ReplyClaimState,
  type AiReplyRequest,
  type ClaimedReply,
  type GeneratedReply,
  type ReplyPreferences,
  type SentMessages,
  type SentReply,
} from './ai-replies.ts';
export {
  ACTIVE_COURIER_TASK_STATES,
  createCourierTimeoutRepository,
  type CheckedTask,
  type CheckOutcome,
  type CourierRef,
  type CourierTimeoutRepository,
} from './courier-timeouts.ts';
export {
  createInspirationRepository,
  type InspirationBatch,
  type InspirationChoice,
  type InspirationRepository,
  type InspirationUser,
} from './inspiration.ts';
