import { SchedulerError } from '@openpenpal/errors';
import type { InspirationRepository } from '@openpenpal/domain';
import { defineTaskHandler } from '@openpenpal/handler-kit';
import type { Producer, TopicBinding } from '@openpenpal/messaging';
import type { Clock } from '@openpenpal/timing';
import { Counter, type Registry } from 'prom-client';
import { pushPayloadSchema } from '../config.ts';
import { inspirationMessages } from './messages.ts';
import { builtinPrompt } from './prompts.ts';
import type { ZonePrompts } from './zone-prompts.ts';
import { planZones } from './zones.ts';

export interface PushHandlerDeps {
  repository: InspirationRepository;
  producer: Pick<Producer, 'encode'>;
  notifications: TopicBinding<'NotificationRequested'>;
  clock: Pick<Clock, 'now'>;
  registry: Registry;
  batchSize: number;
  /** The prompt of each zone and local day (chosen once, stored). */
  prompts: ZonePrompts;
}

/**
 * One trigger (the quarter-hourly cron, run-now, a replay) serves every zone whose clock showed the
 * send time within its window before the trigger's nominal time: the opted-in users of each zone in
 * keyset batches, each user claimed for the zone's local day in the transaction that writes the
 * notification request. A re-run, a retry or the other replica finds the claims and sends nothing.
 */
export function createPushHandler(deps: PushHandlerDeps) {
  const sent = new Counter({
    name: 'scheduler_inspiration_sent_total',
    help: 'Daily inspiration notification requests written (one per user and local day).',
    registers: [deps.registry],
  });
  const invalidZones = new Counter({
    name: 'scheduler_inspiration_invalid_zones_total',
    help: 'Zones of opted-in users skipped because they are not IANA zones (per trigger).',
    registers: [deps.registry],
  });
  const promptSources = new Counter({
    name: 'scheduler_inspiration_zone_prompts_total',
    help: 'Zones served by a trigger, by the source of their prompt (provider or builtin).',
    labelNames: ['source'],
    registers: [deps.registry],
  });
  return defineTaskHandler({
    taskType: 'writing_inspiration_push',
    payloadSchema: pushPayloadSchema,
    handle: async ({ trigger, payload, signal, logger }) => {
      const plan = planZones({
        zones: await deps.repository.zones(),
        nominal: trigger.nominal_time,
        localTime: payload.local_time,
        windowMs: payload.window_minutes * 60_000,
      });
      if (plan.invalid.length > 0) {
        invalidZones.inc(plan.invalid.length);
        logger.warn(
          { invalid: plan.invalid },
          'opted-in users with a time zone that is not IANA are skipped',
        );
      }
      const zones: { timezone: string; local_date: string; sent: number; source: string }[] = [];
      let total = 0;
      for (const zone of plan.due) {
        const zonePrompt = await deps.prompts.forZone({
          timezone: zone.timezone,
          localDate: zone.localDate,
          executionId: trigger.execution_id,
          signal,
          logger,
        });
        promptSources.inc({ source: zonePrompt.source });
        const context = {
          executionId: trigger.execution_id,
          localDate: zone.localDate,
          requestedAt: deps.clock.now(),
          zonePrompt,
        };
        let afterUserId: string | null = null;
        let zoneSent = 0;
        do {
          if (signal.aborted) {
            throw new SchedulerError(
              'TIMEOUT',
              `inspiration stopped in ${zone.timezone} after ${total} users`,
            );
          }
          const batch = await deps.repository.claimBatch({
            timezone: zone.timezone,
            localDate: zone.localDate,
            afterUserId,
            limit: deps.batchSize,
            executionId: trigger.execution_id,
            choose: (user) =>
              zonePrompt.source === 'provider'
                ? { theme: zonePrompt.prompt.theme, source: 'provider' }
                : { theme: builtinPrompt(zone.localDate, user.userId, user.language).key, source: 'builtin' },
            messages: (user) => inspirationMessages(deps.producer, deps.notifications, context, user),
          });
          zoneSent += batch.claimed.length;
          sent.inc(batch.claimed.length);
          afterUserId = batch.nextAfterUserId;
        } while (afterUserId !== null);
        total += zoneSent;
        zones.push({
          timezone: zone.timezone,
          local_date: zone.localDate,
          sent: zoneSent,
          source: zonePrompt.source,
        });
      }
      if (total > 0) logger.info({ sent: total, zones }, 'daily inspiration sent');
      return {
        status: 'succeeded',
        result: {
          sent: total,
          zones,
          invalid_zones: plan.invalid.map((zone) => ({ timezone: zone.timezone, reason: zone.reason })),
        },
      };
    },
  });
}
