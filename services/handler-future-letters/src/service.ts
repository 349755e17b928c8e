import { topicSpec } from '@openpenpal/contracts';
import { createFutureLetterRepository, openDomain, startInboundConsumer } from '@openpenpal/domain';
import { defineHandlerService } from '@openpenpal/handler-kit';
import { futureLetterSettings } from './config.ts';
import { handleFutureLetterEvent } from './inbound/future-letter-events.ts';
import { createReleaseHandler } from './release/handler.ts';
import { createReleaseMetrics } from './release/metrics.ts';

/**
 * handler-future-letter-unlock: the kit runs release triggers (exact and sweep); this service also
 * consumes the letter service's future-letter events and relays the domain outbox.
 */
export const futureLettersService = defineHandlerService(
  {
    taskType: 'future_letter_unlock',
    create: async (ctx, kit) => {
      const { config } = ctx;
      const { pool, schema } = await openDomain(ctx);
      const repository = createFutureLetterRepository({ pool, schema });
      const metrics = createReleaseMetrics(ctx.metrics.registry, repository, kit.clock);
      await startInboundConsumer(ctx, {
        name: 'future-letter-events',
        events: { topic: config.HANDLER_FUTURE_LETTER_UNLOCK_EVENTS_TOPIC, schema: 'FutureLetterEvent' },
        rejectionsTopic: config.HANDLER_FUTURE_LETTER_UNLOCK_REJECTIONS_TOPIC,
        clock: kit.clock,
        handler: (tools) => (message) =>
          handleFutureLetterEvent(
            {
              repository,
              delay: kit.delay,
              triggers: { topic: config.HANDLER_TRIGGER_TOPIC, schema: 'TaskTrigger' },
              task: {
                id: config.HANDLER_FUTURE_LETTER_UNLOCK_TASK_ID,
                maxRetries: config.HANDLER_FUTURE_LETTER_UNLOCK_MAX_RETRIES,
                timeoutSecs: config.HANDLER_FUTURE_LETTER_UNLOCK_TIMEOUT_SECS,
              },
              ...tools,
            },
            message,
          ),
      });
      return createReleaseHandler({
        repository,
        producer: ctx.producer,
        bindings: {
          released: {
            topic: config.HANDLER_FUTURE_LETTER_UNLOCK_RELEASED_TOPIC,
            schema: 'FutureLetterReleased',
          },
          notifications: {
            topic: config.HANDLER_FUTURE_LETTER_UNLOCK_NOTIFICATIONS_TOPIC,
            schema: 'NotificationRequested',
          },
        },
        metrics,
        clock: kit.clock,
        sweepBatch: config.HANDLER_FUTURE_LETTER_UNLOCK_SWEEP_BATCH,
      });
    },
  },
  {
    httpPort: 8_110,
    config: futureLetterSettings,
    topics: (config) => [
      {
        spec: topicSpec('openpenpal.letters.future-letters'),
        name: config.HANDLER_FUTURE_LETTER_UNLOCK_EVENTS_TOPIC,
      },
      {
        spec: topicSpec('openpenpal.letters.future-letter-released'),
        name: config.HANDLER_FUTURE_LETTER_UNLOCK_RELEASED_TOPIC,
      },
      {
        spec: topicSpec('openpenpal.scheduler.inbound-rejections'),
        name: config.HANDLER_FUTURE_LETTER_UNLOCK_REJECTIONS_TOPIC,
      },
      {
        spec: topicSpec('scheduler.notifications.requested'),
        name: config.HANDLER_FUTURE_LETTER_UNLOCK_NOTIFICATIONS_TOPIC,
      },
    ],
  },
);
