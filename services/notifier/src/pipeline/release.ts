import type { NotificationChannel, NotificationRequested } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import { isDeliverableType } from '../templates/render.ts';
import type { DeliverableType } from '../templates/catalog.ts';

/**
 * Header on a request the notifier re-published through the delay queue, saying why it was held:
 * `quiet_hours` (the quiet hours are over: do not hold for them again), `rate_limited` or
 * `not_before` (check everything again), `retry` (a channel's next try: `channels` names it, and no
 * hold applies — the notification was admitted before).
 */
export const RELEASE_HEADER = 'notifier-release';
export type Release = 'quiet_hours' | 'rate_limited' | 'not_before' | 'retry';
const RELEASES: readonly Release[] = ['quiet_hours', 'rate_limited', 'not_before', 'retry'];

export function releaseOf(headers: Readonly<Record<string, string>>): Release | undefined {
  const value = headers[RELEASE_HEADER];
  return RELEASES.find((release) => release === value);
}

export type ValidRequest = NotificationRequested & { type: DeliverableType };

const MAX_DATA_ENTRIES = 32;
const MAX_DATA_VALUE = 1_000;
const MAX_USER_ID = 64;

function invalid(message: string, field: string): SchedulerError {
  return new SchedulerError('VALIDATION_FAILED', message, { details: { field } });
}

/** What a request must satisfy before anything else: a known type, a user id, bounded data. */
export function validateRequest(request: NotificationRequested): ValidRequest {
  if (!isDeliverableType(request.type)) {
    throw invalid(
      `unknown notification type (read as ${request.type}): the notifier has no templates for it`,
      'type',
    );
  }
  if (request.user_id.trim() === '' || request.user_id.length > MAX_USER_ID) {
    throw invalid(`user_id must be 1-${MAX_USER_ID} characters`, 'user_id');
  }
  const entries = Object.entries(request.data);
  if (entries.length > MAX_DATA_ENTRIES) {
    throw invalid(`data has ${entries.length} entries, more than ${MAX_DATA_ENTRIES}`, 'data');
  }
  for (const [name, value] of entries) {
    if (value.length > MAX_DATA_VALUE) {
      throw invalid(
        `data.${name} has ${value.length} characters, more than ${MAX_DATA_VALUE}`,
        `data.${name}`,
      );
    }
  }
  return request as ValidRequest;
}

/** The delayed-message id of a hold or retry, derived from the notification id (so a re-run schedules it once). */
export function delayedMessageId(
  notificationId: string,
  kind: 'not-before' | 'quiet' | 'rate' | 'retry' | 'circuit',
  suffix: string | number,
  channel?: NotificationChannel,
): string {
  return ['notification', notificationId, ...(channel ? [channel] : []), kind, String(suffix)].join(':');
}
