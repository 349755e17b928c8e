import type {
  DeferReason,
  NotificationChannel,
  NotificationEvent,
  NotificationRequested,
} from '@openpenpal/contracts';
import { parse, v5 } from 'uuid';

/**
 * The notifier's UUID v5 namespace, fixed forever: a request handled again after a crash emits its
 * events under the same ids, which consumers store once.
 */
const namespace = parse('c3d0f2a4-8e6b-4b9f-a1c7-5d2e9f40b6a1');

type Request = Pick<NotificationRequested, 'notification_id' | 'user_id' | 'type' | 'execution_id'>;

function envelope(
  request: Request,
  idSeed: string,
  at: number,
  event: NotificationEvent['event'],
): NotificationEvent {
  return {
    event_id: v5(`${request.notification_id}:${idSeed}`, namespace),
    notification_id: request.notification_id,
    user_id: request.user_id,
    type: request.type,
    execution_id: request.execution_id ?? null,
    occurred_at: at,
    event,
  };
}

export function deliveredEvent(
  request: Request,
  channel: NotificationChannel,
  at: number,
  providerMessageId: string | null,
): NotificationEvent {
  return envelope(request, `delivered:${channel}`, at, {
    'org.openpenpal.scheduler.NotificationDelivered': {
      channel,
      delivered_at: at,
      provider_message_id: providerMessageId,
    },
  });
}

export function failedEvent(
  request: Request,
  failure: {
    channel: NotificationChannel;
    attempt: number;
    code: string;
    message: string;
    willRetry: boolean;
    /** Distinguishes failures of one attempt that do not count (an open circuit, by its retry time). */
    seed?: string;
  },
  at: number,
): NotificationEvent {
  return envelope(request, `failed:${failure.channel}:${failure.attempt}:${failure.seed ?? ''}`, at, {
    'org.openpenpal.scheduler.NotificationFailed': {
      channel: failure.channel,
      attempt: failure.attempt,
      error_code: failure.code,
      error_message: failure.message.slice(0, 1_000),
      will_retry: failure.willRetry,
    },
  });
}

export function deferredEvent(
  request: Request,
  reason: DeferReason,
  until: number,
  at: number,
): NotificationEvent {
  return envelope(request, `deferred:${reason}:${until}`, at, {
    'org.openpenpal.scheduler.NotificationDeferred': { until, reason },
  });
}
