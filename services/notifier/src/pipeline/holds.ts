import type { NotificationEvent } from '@openpenpal/contracts';
import type { DelayClient } from '@openpenpal/delay-client';
import type { TopicBinding } from '@openpenpal/messaging';
import type { Admissions } from '../limits/admission.ts';
import type { Recipient } from '../preferences/directory.ts';
import { parseQuietHours, quietHoursEnd } from '../preferences/quiet-hours.ts';
import { deferredEvent } from './events.ts';
import { delayedMessageId, RELEASE_HEADER, type Release, type ValidRequest } from './release.ts';

export interface HoldDependencies {
  delay: DelayClient;
  requests: TopicBinding<'NotificationRequested'>;
  admissions: Admissions;
}

/** A not_before this close to now is due: the delay queue may publish a little early by clock skew. */
const NOT_BEFORE_TOLERANCE_MS = 1_000;

/** Re-publishes `request` through the delay queue at `until`, marked with why. */
export async function holdUntil(
  deps: HoldDependencies,
  request: ValidRequest,
  until: number,
  release: Release,
  messageId: string,
): Promise<void> {
  await deps.delay.schedule({
    messageId,
    dueAt: until,
    target: {
      binding: deps.requests,
      key: request.notification_id,
      value: request,
      headers: { [RELEASE_HEADER]: release },
    },
  });
}

/**
 * Whether the request waits, and until when: `not_before` first, then the user's quiet hours
 * (everything but critical), then the type's minimum interval and the user's rate limit. A held
 * request is scheduled again through the delay queue; the event says why (none for not_before,
 * which the requester asked for). Returns undefined when it goes out now.
 */
export async function applyHolds(
  deps: HoldDependencies,
  request: ValidRequest,
  recipient: Recipient,
  release: Release | undefined,
  now: number,
): Promise<{ event?: NotificationEvent; reason: 'not_before' | 'quiet_hours' | 'rate_limited' } | undefined> {
  if (release === 'retry') return undefined;
  const id = request.notification_id;
  if (
    request.not_before !== null &&
    request.not_before !== undefined &&
    request.not_before > now + NOT_BEFORE_TOLERANCE_MS
  ) {
    await holdUntil(
      deps,
      request,
      request.not_before,
      'not_before',
      delayedMessageId(id, 'not-before', request.not_before),
    );
    return { reason: 'not_before' };
  }
  if (request.priority === 'critical') return undefined;
  if (release !== 'quiet_hours') {
    const range = parseQuietHours(recipient.quietHours);
    const end = range ? quietHoursEnd(range, recipient.timezone, now) : undefined;
    if (end !== undefined) {
      await holdUntil(deps, request, end, 'quiet_hours', delayedMessageId(id, 'quiet', end));
      return { reason: 'quiet_hours', event: deferredEvent(request, 'quiet_hours', end, now) };
    }
  }
  const admission = await deps.admissions.admit({
    notificationId: id,
    userId: request.user_id,
    type: request.type,
    now,
  });
  if (admission.admitted) return undefined;
  await holdUntil(
    deps,
    request,
    admission.until,
    'rate_limited',
    delayedMessageId(id, 'rate', admission.until),
  );
  return { reason: 'rate_limited', event: deferredEvent(request, 'rate_limited', admission.until, now) };
}
