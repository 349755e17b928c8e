import { SchedulerError, isSchedulerError } from '@openpenpal/errors';
import { keySpace } from '@openpenpal/redis';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkPayload } from '../commands/payloads.ts';
import {
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  claimSignature,
  verifySignature,
} from '../commands/signatures.ts';
import type { ApiDeps } from '../deps.ts';
import { errorResponses } from '../http/errors.ts';
import { acceptedAnswer } from '../http/schemas.ts';
import { notFound } from '../plugins/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
  }
}

const triggerBody = z
  .strictObject({
    event_id: z
      .string()
      .min(1)
      .max(128)
      .describe("the sender's id of the event: a repeat runs the task once"),
    task_id: z.string().min(1).max(128),
    reason: z.string().max(2_000).nullable().optional(),
    payload: z.record(z.string(), z.unknown()).nullable().optional().describe("this run's payload override"),
  })
  .meta({
    id: 'SignedTrigger',
    example: {
      event_id: 'contest-2026-closed',
      task_id: 'envelope_contest_close',
      reason: 'contest closed early',
    },
  });

/**
 * Event-triggered runs, signed: HMAC-SHA256 with the shared secret `API_EVENT_SIGNING_SECRET` over
 * `<X-Signature-Timestamp>.<raw body>`, the timestamp within `API_EVENT_WINDOW_MS` of now, and each
 * signature accepted once (kept in Redis for the window). Failures are counted in
 * `scheduler_event_signature_failures_total{reason}` and replays in
 * `scheduler_event_replay_attempts_total`. A valid event records a run request of the task.
 */
export const signedEventRoutes: FastifyPluginCallbackZod<{ deps: ApiDeps }> = (app, { deps }, done) => {
  const { config } = deps;
  const space = keySpace(config.REDIS_KEY_PREFIX);
  // The signature covers the bytes as sent: keep them before JSON parsing.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer;
    request.rawBody = raw;
    try {
      done(null, raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8')));
    } catch {
      done(
        Object.assign(
          new SchedulerError('VALIDATION_FAILED', 'invalid request: the body is not JSON', {
            details: { field: 'body', problem: 'JSON' },
          }),
          {
            statusCode: 400,
          },
        ),
        undefined,
      );
    }
  });
  // Checked before the body is validated: an unsigned request learns nothing about the schema.
  app.addHook('preValidation', async (request) => {
    const secret = config.API_EVENT_SIGNING_SECRET;
    if (secret === undefined) {
      throw new SchedulerError('FORBIDDEN', 'signed events are not enabled (no API_EVENT_SIGNING_SECRET)', {
        details: {},
      });
    }
    let verified;
    try {
      verified = verifySignature({
        secret,
        windowMs: config.API_EVENT_WINDOW_MS,
        now: deps.clock.now(),
        signature: request.headers[SIGNATURE_HEADER],
        timestamp: request.headers[TIMESTAMP_HEADER],
        body: request.rawBody ?? Buffer.alloc(0),
      });
    } catch (error) {
      const reason = isSchedulerError(error) ? String(error.details.reason) : 'malformed';
      deps.metrics.signatureFailure(reason);
      throw error;
    }
    const fresh = await claimSignature(
      deps.redis,
      space.key('event-signature', verified.signature),
      config.API_EVENT_WINDOW_MS,
    );
    if (!fresh) {
      deps.metrics.replayAttempt();
      throw new SchedulerError('CONFLICT', 'this signed event was already received (replay)', {
        details: { reason: 'replay' },
      });
    }
    request.principal = { kind: 'signed', id: 'event-signing-secret', role: null };
  });

  app.post(
    '/api/v1/scheduler/events/trigger',
    {
      config: { access: 'signed' },
      schema: {
        tags: ['events'],
        summary: 'Run a task for an event, signed with HMAC-SHA256',
        description:
          'Headers: X-Signature-Timestamp (unix seconds), X-Signature (sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<raw body>")>). ' +
          'Refused: 401 for a missing, malformed, expired (> window) or wrong signature; 409 for a signature already used.',
        body: triggerBody,
        response: { 202: acceptedAnswer, ...errorResponses(401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { body } = request;
      const task = await deps.definitions.getTask(body.task_id);
      if (task === undefined) throw notFound(`task ${body.task_id}`, { task_id: body.task_id });
      checkPayload(task.task_type, body.payload, 'payload');
      const result = await deps.definitions.requestRun(task.task_id, {
        actor: 'signed-event',
        reason: body.reason ?? `event ${body.event_id}`,
        payloadOverride: body.payload ?? null,
        commandId: `event:${body.event_id}`,
      });
      return reply.code(202).send({ accepted: true, id: result.eventIds[0] ?? `event:${body.event_id}` });
    },
  );
  done();
};
