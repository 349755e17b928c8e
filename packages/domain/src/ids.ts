import { parse, v5 } from 'uuid';

/**
 * The namespace of the UUID v5 ids the domain side of the scheduler derives (notification ids,
 * result event ids, exact-time execution ids). Fixed forever: a re-run must derive the ids it
 * derived the first time, so consumers recognise the copies.
 */
export const DOMAIN_NAMESPACE = '8f0c2d7e-4b1a-4e5f-9a3c-6d2e1f0b7c94';

const namespace = parse(DOMAIN_NAMESPACE);

/** `notification_id` of a notification request: UUID v5 of its `dedupe_key` (NotificationRequested). */
export function notificationId(dedupeKey: string): string {
  return v5(`notification:${dedupeKey}`, namespace);
}

/** The id of a result event (FutureLetterReleased, LetterMovedToCleanup...) of one change. */
export function resultEventId(kind: string, subjectId: string, version: string): string {
  return v5(`${kind}:${subjectId}:${version}`, namespace);
}

/** The execution id of an exact-time trigger: one per item and due time (a new time is a new execution). */
export function exactExecutionId(taskType: string, businessKey: string, dueAt: number): string {
  return v5(`${taskType}:${businessKey}@${dueAt}`, namespace);
}

/** The id of an InboundEventRejected: one per refused message, so a redelivery repeats it. */
export function rejectionId(topic: string, partition: number, offset: string): string {
  return v5(`rejected:${topic}:${partition}:${offset}`, namespace);
}
