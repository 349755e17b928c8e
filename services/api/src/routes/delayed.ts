import { findTopic } from '@openpenpal/contracts';
import { MAX_MESSAGE_ID_LENGTH } from '@openpenpal/delay-client';
import { SchedulerError, isSchedulerError } from '@openpenpal/errors';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { errorResponses } from '../http/errors.ts';
import { instantIn, pathId } from '../http/schemas.ts';
import { actorOf } from '../plugins/auth.ts';
import { notFound } from '../plugins/errors.ts';

const BASE = '/api/v1/scheduler/delayed-messages';
const tags = ['delayed-messages'];

const delayedView = z
  .object({
    message_id: z.string(),
    due_at: z.iso.datetime(),
    state: z.enum(['pending', 'in_flight']),
    attempts: z.int(),
    target_topic: z.string().nullable(),
    key: z.string().nullable(),
  })
  .meta({
    id: 'DelayedMessage',
    example: {
      message_id: 'future_letter_unlock:letter-42',
      due_at: '2027-01-01T01:00:00.000Z',
      state: 'pending',
      attempts: 0,
      target_topic: 'scheduler.trigger.future-letter-unlock',
      key: 'future_letter_unlock',
    },
  });

const scheduleBody = z
  .strictObject({
    message_id: pathId(MAX_MESSAGE_ID_LENGTH).describe(
      'the idempotency key, derived from the business key (future_letter_unlock:<letterId>)',
    ),
    due_at: instantIn,
    target_topic: z.string().min(1).max(249).describe('a catalogued topic'),
    key: z.string().max(1_024).nullable().describe('Kafka key of the published message'),
    value: z.record(z.string(), z.unknown()).describe("the value as JSON, in the target topic's Avro schema"),
    if_pending: z.enum(['keep', 'replace']).optional(),
  })
  .meta({
    id: 'DelayedMessageRequest',
    example: {
      message_id: 'future_letter_unlock:letter-42',
      due_at: '2027-01-01T09:00:00+08:00',
      target_topic: 'openpenpal.letters.future-letters',
      key: 'letter-42',
      value: {
        eventId: '4b6f0f5e-8c1e-4a55-9d55-1c0f9a1e2b33',
        occurredAt: 1798765200000,
        event: {
          'org.openpenpal.platform.FutureLetterScheduled': {
            letterId: 'letter-42',
            scheduledAt: 1798765200000,
            timezone: 'Asia/Shanghai',
          },
        },
      },
    },
  });

const receipt = z.object({ request_id: z.string(), message_id: z.string() }).meta({
  id: 'DelayReceipt',
  example: {
    request_id: '1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d',
    message_id: 'future_letter_unlock:letter-42',
  },
});

/**
 * The delay queue's messages: counts by target topic and the next due (read from its Redis store),
 * schedule and cancel (requests on `scheduler.delay-requests` through the delay client: the delay
 * queue stays the only writer of its store).
 */
/** The delay client's names for the request's fields, as the client of this route wrote them. */
const BODY_FIELDS: Record<string, string> = {
  messageId: 'body.message_id',
  dueAt: 'body.due_at',
  key: 'body.key',
  value: 'body.value',
  headers: 'body.headers',
  ifPending: 'body.if_pending',
};

/**
 * Runs a schedule, naming a refused field as the body names it (`body.due_at`, not the delay
 * client's `dueAt`), so the 400 points at what the caller sent.
 */
async function scheduleNamingFields<T>(schedule: () => Promise<T>): Promise<T> {
  try {
    return await schedule();
  } catch (error) {
    if (!isSchedulerError(error) || error.code !== 'VALIDATION_FAILED') throw error;
    const field = error.details.field;
    const named = typeof field === 'string' ? BODY_FIELDS[field] : undefined;
    if (named === undefined) throw error;
    throw new SchedulerError('VALIDATION_FAILED', `invalid request: ${named}: ${error.message}`, {
      details: { ...error.details, field: named },
      cause: error,
    });
  }
}

export const delayedRoutes: FastifyPluginCallbackZod<{ deps: ApiDeps }> = (app, { deps }, done) => {
  app.get(
    `${BASE}/stats`,
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'Delayed messages by target topic',
        response: {
          200: z
            .object({
              pending: z.int(),
              in_flight: z.int(),
              overdue: z.int(),
              by_topic: z.record(z.string(), z.int()),
              complete: z.boolean(),
            })
            .meta({
              example: {
                pending: 412,
                in_flight: 2,
                overdue: 0,
                by_topic: {
                  'scheduler.trigger.future-letter-unlock': 300,
                  'scheduler.trigger.ai-penpal-reply': 114,
                },
                complete: true,
              },
            }),
        },
      },
    },
    async () => deps.delayed.counts(deps.clock.now()),
  );

  app.get(
    BASE,
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'The next due delayed messages, earliest first',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
        response: {
          200: z.object({ messages: z.array(delayedView) }).meta({
            example: {
              messages: [
                {
                  message_id: 'future_letter_unlock:letter-42',
                  due_at: '2027-01-01T01:00:00.000Z',
                  state: 'pending',
                  attempts: 0,
                  target_topic: 'scheduler.trigger.future-letter-unlock',
                  key: 'future_letter_unlock',
                },
              ],
            },
          }),
        },
      },
    },
    async (request) => ({ messages: await deps.delayed.nextDue(request.query.limit) }),
  );

  app.post(
    BASE,
    {
      config: { access: 'service' },
      schema: {
        tags,
        summary: 'Request a delayed message',
        description:
          'Published to target_topic at due_at by the delay queue. Answered once Kafka has the request.',
        body: scheduleBody,
        response: { 202: receipt },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const spec = findTopic(body.target_topic);
      if (spec === undefined) {
        throw new SchedulerError(
          'VALIDATION_FAILED',
          'invalid request: body.target_topic: not a catalogued topic',
          {
            details: { field: 'body.target_topic', problem: 'a topic of the catalogue (docs/topics.md)' },
          },
        );
      }
      const dueAt = typeof body.due_at === 'number' ? body.due_at : Date.parse(body.due_at);
      const sent = await scheduleNamingFields(() =>
        deps.delayClient.schedule({
          messageId: body.message_id,
          dueAt,
          target: {
            binding: { topic: spec.name, schema: spec.valueSchema },
            key: body.key,
            value: body.value as never,
            headers: { 'requested-by': actorOf(request) },
          },
          ...(body.if_pending === undefined ? {} : { ifPending: body.if_pending }),
        }),
      );
      return reply.code(202).send({ request_id: sent.requestId, message_id: sent.messageId });
    },
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: { access: 'write' },
      schema: {
        tags,
        summary: 'Cancel a delayed message that has not fired',
        description:
          'Answered once Kafka has the cancel; DelayedMessageCancelled in the history says what it did.',
        params: z.object({ id: pathId(MAX_MESSAGE_ID_LENGTH) }),
        querystring: z.object({ reason: z.string().min(1).max(500).optional() }),
        response: { 202: receipt, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!(await deps.delayed.exists(id))) throw notFound(`delayed message ${id}`, { message_id: id });
      const sent = await deps.delayClient.cancel({
        messageId: id,
        reason: request.query.reason ?? `cancelled by ${actorOf(request)} through the admin API`,
      });
      return reply.code(202).send({ request_id: sent.requestId, message_id: sent.messageId });
    },
  );
  done();
};
