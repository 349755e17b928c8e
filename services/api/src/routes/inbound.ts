import { randomUUID } from 'node:crypto';
import type {
  AiReplyRequested,
  CourierTaskEvent,
  FutureLetterEvent,
  SchemaName,
} from '@openpenpal/contracts';
import { validateCron } from '@openpenpal/cron';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { instantIn } from '../http/schemas.ts';

const BASE = '/api/v1/scheduler/inbound';
const tags = ['inbound'];
const PERSONAS = [
  'poet',
  'philosopher',
  'artist',
  'scientist',
  'traveler',
  'historian',
  'mentor',
  'friend',
] as const;
const PRESETS = ['one_hour', 'three_hours', 'tomorrow_morning', 'tomorrow', 'weekend', 'nextweek'] as const;

const platformId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\p{Cc}]*$/u, 'no control characters');
const eventId = z
  .uuid()
  .optional()
  .describe('UUID of this event; default a new one. A repeat with the same id is dropped by consumers');
const timezone = z
  .string()
  .max(64)
  .refine((zone) => {
    try {
      validateCron('0 0 * * *', zone);
      return true;
    } catch {
      return false;
    }
  }, 'an IANA time zone name');

const toMs = (value: number | string): number => (typeof value === 'number' ? value : Date.parse(value));

const futureLetterBody = z
  .strictObject({
    event_id: eventId,
    letter_id: platformId,
    scheduled_at: instantIn,
    timezone: timezone.nullable().optional(),
  })
  .meta({
    example: { letter_id: 'letter-42', scheduled_at: '2027-01-01T09:00:00+08:00', timezone: 'Asia/Shanghai' },
  });

const delaySchema = z.union([
  z.strictObject({
    delay_hours: z
      .int()
      .min(0)
      .max(24 * 366),
  }),
  z.strictObject({ preset: z.enum(PRESETS) }),
  z.strictObject({
    days: z.int().min(0).max(365),
    hours: z.int().min(0).max(23),
    minutes: z.int().min(0).max(59),
  }),
  z.strictObject({ at: instantIn }),
]);

const aiReplyBody = z
  .strictObject({
    event_id: eventId,
    letter_id: platformId,
    user_id: platformId,
    persona: z.enum(PERSONAS),
    timezone,
    requested_at: instantIn.optional().describe('default now'),
    delay: delaySchema.describe('{delay_hours}, {preset}, {days, hours, minutes} or {at}'),
  })
  .meta({
    example: {
      letter_id: 'letter-42',
      user_id: 'user-7',
      persona: 'poet',
      timezone: 'Asia/Shanghai',
      delay: { preset: 'tomorrow_morning' },
    },
  });

const courierAcceptedBody = z
  .strictObject({ event_id: eventId, courier_id: platformId, accepted_at: instantIn })
  .meta({ example: { courier_id: 'courier-3', accepted_at: '2026-12-01T10:00:00+08:00' } });
const courierDoneBody = z
  .strictObject({
    event_id: eventId,
    at: instantIn.optional().describe('default now'),
    reason: z.string().max(500).nullable().optional(),
  })
  .meta({ example: { at: '2026-12-02T10:00:00+08:00' } });

const sentAnswer = z.object({ event_id: z.string(), topic: z.string(), key: z.string() }).meta({
  id: 'InboundAccepted',
  example: {
    event_id: '7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6',
    topic: 'openpenpal.letters.future-letters',
    key: 'letter-42',
  },
});

type AiDelay = AiReplyRequested['delay'];

function aiDelay(delay: z.output<typeof delaySchema>): AiDelay {
  if ('delay_hours' in delay)
    return { 'org.openpenpal.platform.AiReplyDelayHours': { delayHours: delay.delay_hours } };
  if ('preset' in delay) return { 'org.openpenpal.platform.AiReplyDelayPreset': { preset: delay.preset } };
  if ('at' in delay) return { 'org.openpenpal.platform.AiReplyDelayAbsolute': { at: toMs(delay.at) } };
  return {
    'org.openpenpal.platform.AiReplyDelayRelative': {
      days: delay.days,
      hours: delay.hours,
      minutes: delay.minutes,
    },
  };
}

/**
 * Requests over HTTP for OpenPenPal services that cannot produce to Kafka. Each becomes exactly the
 * Kafka event those services would have produced (same topic, key, Avro schema, `message-id` =
 * event id), so the handlers cannot tell the two paths apart. Answered once Kafka has it.
 */
export const inboundRoutes: FastifyPluginCallbackZod<{ deps: ApiDeps }> = (app, { deps }, done) => {
  const { config, clock } = deps;
  const send = async (topic: string, schema: SchemaName, key: string, id: string, value: unknown) => {
    await deps.producer.send({ topic, schema }, [{ key, value: value as never, messageId: id }]);
    return { event_id: id, topic, key };
  };
  const route = { config: { access: 'service' as const } };

  app.post(
    `${BASE}/future-letters`,
    {
      ...route,
      schema: {
        tags,
        summary: 'Schedule (or reschedule) a future letter: FutureLetterScheduled',
        body: futureLetterBody,
        response: { 202: sentAnswer },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const id = body.event_id ?? randomUUID();
      const value: FutureLetterEvent = {
        eventId: id,
        occurredAt: clock.now(),
        event: {
          'org.openpenpal.platform.FutureLetterScheduled': {
            letterId: body.letter_id,
            scheduledAt: toMs(body.scheduled_at),
            timezone: body.timezone ?? null,
          },
        },
      };
      return reply
        .code(202)
        .send(await send(config.API_FUTURE_LETTERS_TOPIC, 'FutureLetterEvent', body.letter_id, id, value));
    },
  );

  app.post(
    `${BASE}/future-letters/:letterId/cancel`,
    {
      ...route,
      schema: {
        tags,
        summary: 'Cancel a future letter: FutureLetterCancelled',
        params: z.object({ letterId: platformId }),
        body: z.strictObject({ event_id: eventId }).nullish(),
        response: { 202: sentAnswer },
      },
    },
    async (request, reply) => {
      const id = request.body?.event_id ?? randomUUID();
      const now = clock.now();
      const value: FutureLetterEvent = {
        eventId: id,
        occurredAt: now,
        event: {
          'org.openpenpal.platform.FutureLetterCancelled': {
            letterId: request.params.letterId,
            cancelledAt: now,
          },
        },
      };
      return reply
        .code(202)
        .send(
          await send(
            config.API_FUTURE_LETTERS_TOPIC,
            'FutureLetterEvent',
            request.params.letterId,
            id,
            value,
          ),
        );
    },
  );

  app.post(
    `${BASE}/ai-replies`,
    {
      ...route,
      schema: {
        tags,
        summary: 'Request an AI pen-pal reply: AiReplyRequested',
        body: aiReplyBody,
        response: { 202: sentAnswer },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const id = body.event_id ?? randomUUID();
      const value: AiReplyRequested = {
        eventId: id,
        letterId: body.letter_id,
        userId: body.user_id,
        persona: body.persona,
        timezone: body.timezone,
        requestedAt: body.requested_at === undefined ? clock.now() : toMs(body.requested_at),
        delay: aiDelay(body.delay),
      };
      // Keyed by userId: one user's requests stay in order (quota and cooldown).
      return reply
        .code(202)
        .send(await send(config.API_AI_REPLY_REQUESTS_TOPIC, 'AiReplyRequested', body.user_id, id, value));
    },
  );

  const courier = (
    path: 'accepted' | 'delivered' | 'failed',
    summary: string,
    body: typeof courierAcceptedBody | typeof courierDoneBody,
    event: (taskId: string, body: Record<string, unknown>, now: number) => CourierTaskEvent['event'],
  ) =>
    app.post(
      `${BASE}/courier-tasks/:taskId/${path}`,
      {
        ...route,
        schema: {
          tags,
          summary,
          params: z.object({ taskId: platformId }),
          body,
          response: { 202: sentAnswer },
        },
      },
      async (request, reply) => {
        const input = request.body as Record<string, unknown> & { event_id?: string };
        const id = input.event_id ?? randomUUID();
        const now = clock.now();
        const value: CourierTaskEvent = {
          eventId: id,
          occurredAt: now,
          event: event(request.params.taskId, input, now),
        };
        return reply
          .code(202)
          .send(
            await send(
              config.API_COURIER_TASK_EVENTS_TOPIC,
              'CourierTaskEvent',
              request.params.taskId,
              id,
              value,
            ),
          );
      },
    );
  courier(
    'accepted',
    'A courier accepted a task: CourierTaskAccepted',
    courierAcceptedBody,
    (taskId, body) => ({
      'org.openpenpal.platform.CourierTaskAccepted': {
        taskId,
        courierId: body.courier_id as string,
        acceptedAt: toMs(body.accepted_at as number | string),
      },
    }),
  );
  courier(
    'delivered',
    'A courier task was delivered: CourierTaskDelivered',
    courierDoneBody,
    (taskId, body, now) => ({
      'org.openpenpal.platform.CourierTaskDelivered': {
        taskId,
        deliveredAt: body.at === undefined ? now : toMs(body.at as number | string),
      },
    }),
  );
  courier('failed', 'A courier task failed: CourierTaskFailed', courierDoneBody, (taskId, body, now) => ({
    'org.openpenpal.platform.CourierTaskFailed': {
      taskId,
      failedAt: body.at === undefined ? now : toMs(body.at as number | string),
      reason: (body.reason as string | null | undefined) ?? null,
    },
  }));
  done();
};
