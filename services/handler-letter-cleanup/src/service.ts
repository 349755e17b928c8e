import { topicSpec } from '@openpenpal/contracts';
import { createLetterCleanupRepository, openDomain } from '@openpenpal/domain';
import { defineHandlerService } from '@openpenpal/handler-kit';
import { createCleanupHandler } from './cleanup/handler.ts';
import { letterCleanupSettings } from './config.ts';

/** handler-letter-cleanup: the kit runs the daily trigger; this service relays the domain outbox too. */
export const letterCleanupService = defineHandlerService(
  {
    taskType: 'letter_cleanup',
    create: async (ctx, kit) => {
      const { config } = ctx;
      const { pool, schema } = await openDomain(ctx);
      return createCleanupHandler({
        repository: createLetterCleanupRepository({ pool, schema }),
        producer: ctx.producer,
        bindings: {
          events: { topic: config.HANDLER_LETTER_CLEANUP_EVENTS_TOPIC, schema: 'LetterMovedToCleanup' },
          notifications: {
            topic: config.HANDLER_LETTER_CLEANUP_NOTIFICATIONS_TOPIC,
            schema: 'NotificationRequested',
          },
        },
        clock: kit.clock,
        registry: ctx.metrics.registry,
        batchSize: config.HANDLER_LETTER_CLEANUP_BATCH,
        deletionDays: config.HANDLER_LETTER_CLEANUP_DELETION_DAYS,
      });
    },
  },
  {
    httpPort: 8_113,
    config: letterCleanupSettings,
    topics: (config) => [
      { spec: topicSpec('openpenpal.letters.cleanup'), name: config.HANDLER_LETTER_CLEANUP_EVENTS_TOPIC },
      {
        spec: topicSpec('scheduler.notifications.requested'),
        name: config.HANDLER_LETTER_CLEANUP_NOTIFICATIONS_TOPIC,
      },
    ],
  },
);
