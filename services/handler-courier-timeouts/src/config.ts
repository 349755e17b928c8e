import { topicSpec } from '@openpenpal/contracts';
import { domainConfigShape } from '@openpenpal/domain';
import { handlerConfigSchema } from '@openpenpal/handler-kit';
import { positiveInt, topicName } from '@openpenpal/service-kit';
import { z } from 'zod';

/** An IANA zone the runtime knows (Intl refuses any other). */
const ianaZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}, 'an IANA time zone such as Asia/Shanghai');

/** The settings of this handler besides the kit's and the domain database's. */
export const courierTimeoutSettings = {
  ...domainConfigShape,
  /** Inbound CourierTaskAccepted / Delivered / Failed from the courier service. */
  HANDLER_COURIER_TIMEOUT_CHECK_EVENTS_TOPIC: topicName.default(
    topicSpec('openpenpal.courier.task-events').name,
  ),
  /** Where CourierTaskTimeoutEvent goes (through the outbox). */
  HANDLER_COURIER_TIMEOUT_CHECK_RESULTS_TOPIC: topicName.default(
    topicSpec('openpenpal.courier.task-timeouts').name,
  ),
  /** Where refused inbound events are reported (InboundEventRejected). */
  HANDLER_COURIER_TIMEOUT_CHECK_REJECTIONS_TOPIC: topicName.default(
    topicSpec('openpenpal.scheduler.inbound-rejections').name,
  ),
  /** Where notification requests go (through the outbox). */
  HANDLER_COURIER_TIMEOUT_CHECK_NOTIFICATIONS_TOPIC: topicName.default(
    topicSpec('scheduler.notifications.requested').name,
  ),
  /** The task id exact-time checks carry (the seeded task's). */
  HANDLER_COURIER_TIMEOUT_CHECK_TASK_ID: z.string().min(1).max(256).default('courier_timeout_check'),
  /** Attempts of an exact-time check after the first, and its timeout (the seeded task's). */
  HANDLER_COURIER_TIMEOUT_CHECK_MAX_RETRIES: z.coerce.number().int().min(0).max(100).default(3),
  HANDLER_COURIER_TIMEOUT_CHECK_TIMEOUT_SECS: positiveInt.default(600),
  /** The payload of exact-time checks (the sweep's comes from the task definition). */
  HANDLER_COURIER_TIMEOUT_CHECK_TIMEOUT_HOURS: positiveInt.max(8_760).default(48),
  HANDLER_COURIER_TIMEOUT_CHECK_REASSIGN_AFTER_REMINDERS: z.coerce.number().int().min(0).max(20).default(2),
  /** The zone whose local day a courier's daily cap (`max_daily_tasks`) counts in. */
  HANDLER_COURIER_TIMEOUT_CHECK_CAP_TIMEZONE: ianaZone.default('Asia/Shanghai'),
  /** Overdue tasks read per sweep query (each is checked in its own short transaction). */
  HANDLER_COURIER_TIMEOUT_CHECK_SWEEP_BATCH: positiveInt.max(10_000).default(200),
};

export const courierTimeoutsConfigSchema = handlerConfigSchema(
  'courier_timeout_check',
  8_112,
  courierTimeoutSettings,
);

/** The check's payload (openpenpal-domain.md §1): a delay out of range is refused for good. */
export const checkPayloadSchema = z.object({
  timeout_hours: z.number().int().min(1).max(8_760).default(48),
  reassign_after_reminders: z.number().int().min(0).max(20).default(2),
});
