import type { NotificationChannel, NotificationEvent } from '@openpenpal/contracts';
import { SchedulerError, errorCodeOf, isRetryable, isSchedulerError, toError } from '@openpenpal/errors';
import { fullJitterDelay, type BackoffPolicy } from '@openpenpal/timing';
import type { Breakers } from '../channels/breaker.ts';
import type { ChannelSender, OutboundNotification } from '../channels/delivery.ts';
import type { DeliveryOutcome } from '../store/deliveries.ts';
import { deliveredEvent, failedEvent } from './events.ts';
import { holdUntil, type HoldDependencies } from './holds.ts';
import { delayedMessageId, type ValidRequest } from './release.ts';

export interface DeliverDependencies extends HoldDependencies {
  senders: Readonly<Partial<Record<NotificationChannel, ChannelSender>>>;
  breakers: Breakers;
  clock: { now(): number };
  retry: BackoffPolicy & { maxAttempts: number; giveUpAfterMs: number };
}

/** What one try on one external channel came to. */
export interface ChannelResult {
  channel: NotificationChannel;
  /** Recorded on the delivery (absent when the try did not count: an open circuit). */
  outcome?: DeliveryOutcome;
  event: NotificationEvent;
  kind: 'delivered' | 'retry_scheduled' | 'failed';
  /** Set when the channel failed for good: the reason the request is dead-lettered with. */
  finalError?: SchedulerError;
}

function asSchedulerError(error: unknown): SchedulerError {
  if (isSchedulerError(error)) return error;
  return new SchedulerError('PROVIDER_FAILED', toError(error).message, { cause: error });
}

/**
 * One try of `channel` through its circuit breaker. Delivered: recorded and reported. Failed with
 * a retryable error and tries left: the next try is scheduled through the delay queue after an
 * exponential backoff with full jitter. An open breaker delays the try until it lets a trial call
 * through, without counting it. Anything else is a final failure.
 */
export async function deliverOn(
  deps: DeliverDependencies,
  request: ValidRequest,
  notification: OutboundNotification,
  channel: NotificationChannel,
  previousAttempts: number,
): Promise<ChannelResult> {
  const sender = deps.senders[channel];
  const attempt = previousAttempts + 1;
  try {
    if (!sender) {
      throw new SchedulerError('CONFIG_INVALID', `the ${channel} channel is not configured on this notifier`);
    }
    const providerId = await deps.breakers.run(sender.breakerKey(notification), () =>
      sender.send(notification),
    );
    const at = deps.clock.now();
    return {
      channel,
      kind: 'delivered',
      outcome: {
        notificationId: request.notification_id,
        channel,
        status: 'delivered',
        attempts: previousAttempts,
        at,
        providerMessageId: providerId,
      },
      event: deliveredEvent(request, channel, at, providerId),
    };
  } catch (caught) {
    const error = asSchedulerError(caught);
    const now = deps.clock.now();
    const givingUpAt = request.requested_at + deps.retry.giveUpAfterMs;
    if (error.code === 'CIRCUIT_OPEN') {
      const openUntil = Number(error.details.retryAt ?? now);
      // Spread the waiting tries over a little time so they do not all hit the trial call at once.
      const retryAt = openUntil + Math.floor(Math.random() * Math.max(1, deps.retry.initialDelayMs));
      if (retryAt <= givingUpAt) {
        await holdUntil(
          deps,
          { ...request, channels: [channel] },
          retryAt,
          'retry',
          delayedMessageId(request.notification_id, 'circuit', retryAt, channel),
        );
        return {
          channel,
          kind: 'retry_scheduled',
          event: failedEvent(
            request,
            {
              channel,
              attempt,
              code: error.code,
              message: error.message,
              willRetry: true,
              seed: String(retryAt),
            },
            now,
          ),
        };
      }
    } else if (isRetryable(error) && attempt < deps.retry.maxAttempts) {
      const retryAt = now + Math.max(1, fullJitterDelay(deps.retry, attempt));
      if (retryAt <= givingUpAt) {
        await holdUntil(
          deps,
          { ...request, channels: [channel] },
          retryAt,
          'retry',
          delayedMessageId(request.notification_id, 'retry', attempt + 1, channel),
        );
        return {
          channel,
          kind: 'retry_scheduled',
          outcome: {
            notificationId: request.notification_id,
            channel,
            status: 'pending',
            attempts: attempt,
            at: now,
            error: error.message,
          },
          event: failedEvent(
            request,
            { channel, attempt, code: error.code, message: error.message, willRetry: true },
            now,
          ),
        };
      }
    }
    return {
      channel,
      kind: 'failed',
      finalError: error,
      outcome: {
        notificationId: request.notification_id,
        channel,
        status: 'failed',
        attempts: attempt,
        at: now,
        error: `${errorCodeOf(error)}: ${error.message}`,
      },
      event: failedEvent(
        request,
        { channel, attempt, code: error.code, message: error.message, willRetry: false },
        now,
      ),
    };
  }
}
