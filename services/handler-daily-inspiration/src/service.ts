import { topicSpec } from '@openpenpal/contracts';
import { createInspirationRepository, openDomain } from '@openpenpal/domain';
import { defineHandlerService } from '@openpenpal/handler-kit';
import { inspirationSettings } from './config.ts';
import { createPushHandler } from './push/handler.ts';

/** handler-writing-inspiration-push: the kit runs the quarter-hourly trigger; this service relays the domain outbox too. */
export const inspirationService = defineHandlerService(
  {
    taskType: 'writing_inspiration_push',
    create: async (ctx, kit) => {
      const { config } = ctx;
      const { pool, schema } = await openDomain(ctx);
      return createPushHandler({
        repository: createInspirationRepository({ pool, schema }),
        producer: ctx.producer,
        notifications: {
          topic: config.HANDLER_WRITING_INSPIRATION_PUSH_NOTIFICATIONS_TOPIC,
          schema: 'NotificationRequested',
        },
        clock: kit.clock,
        registry: ctx.metrics.registry,
        batchSize: config.HANDLER_WRITING_INSPIRATION_PUSH_BATCH,
      });
    },
  },
  {
    httpPort: 8_114,
    config: inspirationSettings,
    topics: (config) => [
      {
        spec: topicSpec('scheduler.notifications.requested'),
        name: config.HANDLER_WRITING_INSPIRATION_PUSH_NOTIFICATIONS_TOPIC,
      },
    ],
  },
);
