import { topicSpec } from '@openpenpal/contracts';
import { createCourierTimeoutRepository, openDomain, startInboundConsumer } from '@openpenpal/domain';
import { defineHandlerService } from '@openpenpal/handler-kit';
import { createCheckHandler } from './check/handler.ts';
import { createCheckMetrics } from './check/metrics.ts';
import type { CheckTriggerSpec } from './check/schedule.ts';
import { courierTimeoutSettings } from './config.ts';
import { handleCourierTaskEvent } from './inbound/courier-task-events.ts';

/**
 * handler-courier-timeout-check: the kit runs check triggers (exact and the hourly sweep); this
 * service also consumes the courier service's task events and relays the domain outbox.
 */
export const courierTimeoutsService = defineHandlerService(
  {
    taskType: 'courier_timeout_check',
    create: async (ctx, kit) => {
      const { config } = ctx;
      const { pool, schema } = await openDomain(ctx);
      const repository = createCourierTimeoutRepository({ pool, schema });
      const spec: CheckTriggerSpec = {
        triggers: { topic: config.HANDLER_TRIGGER_TOPIC, schema: 'TaskTrigger' },
        taskId: config.HANDLER_COURIER_TIMEOUT_CHECK_TASK_ID,
        maxRetries: config.HANDLER_COURIER_TIMEOUT_CHECK_MAX_RETRIES,
        timeoutSecs: config.HANDLER_COURIER_TIMEOUT_CHECK_TIMEOUT_SECS,
        timeoutHours: config.HANDLER_COURIER_TIMEOUT_CHECK_TIMEOUT_HOURS,
        reassignAfterReminders: config.HANDLER_COURIER_TIMEOUT_CHECK_REASSIGN_AFTER_REMINDERS,
      };
      await startInboundConsumer(ctx, {
        name: 'courier-task-events',
        events: { topic: config.HANDLER_COURIER_TIMEOUT_CHECK_EVENTS_TOPIC, schema: 'CourierTaskEvent' },
        rejectionsTopic: config.HANDLER_COURIER_TIMEOUT_CHECK_REJECTIONS_TOPIC,
        clock: kit.clock,
        handler: (tools) => (message) =>
          handleCourierTaskEvent({ repository, delay: kit.delay, spec, ...tools }, message),
      });
      return createCheckHandler({
        repository,
        producer: ctx.producer,
        delay: kit.delay,
        bindings: {
          results: {
            topic: config.HANDLER_COURIER_TIMEOUT_CHECK_RESULTS_TOPIC,
            schema: 'CourierTaskTimeoutEvent',
          },
          notifications: {
            topic: config.HANDLER_COURIER_TIMEOUT_CHECK_NOTIFICATIONS_TOPIC,
            schema: 'NotificationRequested',
          },
        },
        spec,
        metrics: createCheckMetrics(ctx.metrics.registry),
        clock: kit.clock,
        capTimezone: config.HANDLER_COURIER_TIMEOUT_CHECK_CAP_TIMEZONE,
        sweepBatch: config.HANDLER_COURIER_TIMEOUT_CHECK_SWEEP_BATCH,
      });
    },
  },
  {
    httpPort: 8_112,
    config: courierTimeoutSettings,
    topics: (config) => [
      {
        spec: topicSpec('openpenpal.courier.task-events'),
        name: config.HANDLER_COURIER_TIMEOUT_CHECK_EVENTS_TOPIC,
      },
      {
        spec: topicSpec('openpenpal.courier.task-timeouts'),
        name: config.HANDLER_COURIER_TIMEOUT_CHECK_RESULTS_TOPIC,
      },
      {
        spec: topicSpec('openpenpal.scheduler.inbound-rejections'),
        name: config.HANDLER_COURIER_TIMEOUT_CHECK_REJECTIONS_TOPIC,
      },
      {
        spec: topicSpec('scheduler.notifications.requested'),
        name: config.HANDLER_COURIER_TIMEOUT_CHECK_NOTIFICATIONS_TOPIC,
      },
    ],
  },
);
