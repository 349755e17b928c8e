import { rerunExecution } from '@openpenpal/replay';
import { executionStreamId } from '@openpenpal/task-definitions';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { republish, republishAnswer, republishBody } from '../commands/republish.ts';
import type { ApiDeps } from '../deps.ts';
import { errorResponses } from '../http/errors.ts';
import { EVENT_EXAMPLE, EXECUTION_EXAMPLE } from '../http/examples.ts';
import { commandIdOf, writeHeaders } from '../http/headers.ts';
import {
  executionPage,
  executionView,
  listExecutionsQuery,
  pathId,
  recordedEventView,
} from '../http/schemas.ts';
import { actorOf } from '../plugins/auth.ts';
import { notFound } from '../plugins/errors.ts';
import { parseInstantQuery } from './query.ts';

const BASE = '/api/v1/scheduler/executions';
const tags = ['executions'];
const executionParams = z.object({ id: pathId(256) });

const rerunAnswer = z
  .object({
    execution_id: z.string().describe('the new execution'),
    original_execution_id: z.string(),
    attempt: z.int(),
    trigger_topic: z.string(),
  })
  .meta({
    id: 'RerunResult',
    example: {
      execution_id: '9a7b6c5d-4e3f-4a1b-8c2d-1e0f9a8b7c6d',
      original_execution_id: '6f1c1f0e-2f7b-5d7e-9a51-3a4b8f0c2d11',
      attempt: 2,
      trigger_topic: 'scheduler.trigger.letter-cleanup',
    },
  });

/**
 * Executions: list (read models, cursor paging), one with its full event history (event store),
 * re-run a failed one, re-publish its recorded events.
 */
export const executionRoutes: FastifyPluginCallbackZod<{ deps: ApiDeps }> = (app, { deps }, done) => {
  app.get(
    BASE,
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'List executions',
        description:
          'Filters task_id, status, from/to (last activity); newest first; pass next_cursor as cursor for the next page.',
        querystring: listExecutionsQuery,
        response: { 200: executionPage },
      },
    },
    async (request) =>
      deps.executions.list({
        ...request.query,
        from: parseInstantQuery('from', request.query.from),
        to: parseInstantQuery('to', request.query.to),
      }),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'One execution with its complete event history from the event store',
        params: executionParams,
        response: {
          200: z
            .object({ execution: executionView, events: z.array(recordedEventView) })
            .meta({ example: { execution: EXECUTION_EXAMPLE, events: [EVENT_EXAMPLE] } }),
          ...errorResponses(404),
        },
      },
    },
    async (request) => {
      const found = await deps.executions.history(request.params.id);
      if (found === undefined)
        throw notFound(`execution ${request.params.id}`, { execution_id: request.params.id });
      return {
        execution: found.execution,
        events: found.events.map((event) => ({
          id: event.id,
          type: event.type,
          revision: event.revision.toString(),
          position: event.position.toString(),
          recorded_at: event.createdAt.toISOString(),
          data: event.data,
          metadata: event.metadata,
        })),
      };
    },
  );

  app.post(
    `${BASE}/:id/rerun`,
    {
      config: { access: 'write' },
      schema: {
        tags,
        summary: 'Re-run a failed (or dead-lettered) execution as a new execution',
        description:
          'A 409 CONFLICT for an execution that did not fail. With Idempotency-Key, a repeat re-runs as the same new execution.',
        params: executionParams,
        headers: writeHeaders,
        body: z.object({ reason: z.string().max(2_000).nullable().optional() }).nullish(),
        response: { 202: rerunAnswer, ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => {
      const commandId = commandIdOf(request);
      const result = await rerunExecution(
        {
          store: deps.store,
          producer: deps.producer,
          clock: deps.clock,
          worker: `api:${deps.instanceId}`,
          topics: {
            executionEvents: deps.config.API_EXECUTION_EVENTS_TOPIC,
            trigger: (taskType) => `${deps.config.API_TRIGGER_TOPIC_PREFIX}${taskType.replaceAll('_', '-')}`,
          },
        },
        {
          executionId: request.params.id,
          requestedBy: actorOf(request),
          reason: request.body?.reason ?? null,
          ...(commandId === undefined ? {} : { commandId }),
        },
      );
      return reply.code(202).send({
        execution_id: result.executionId,
        original_execution_id: result.originalExecutionId,
        attempt: result.attempt,
        trigger_topic: result.triggerTopic,
      });
    },
  );

  app.post(
    `${BASE}/:id/republish`,
    {
      config: { access: 'write' },
      schema: {
        tags,
        summary: "Re-publish an execution's recorded events to an execution-events topic",
        params: executionParams,
        body: republishBody,
        response: { 200: republishAnswer, ...errorResponses(404) },
      },
    },
    async (request) => {
      const found = await deps.executions.history(request.params.id);
      if (found === undefined)
        throw notFound(`execution ${request.params.id}`, { execution_id: request.params.id });
      return republish(deps, 'execution', executionStreamId(request.params.id), request.body);
    },
  );
  done();
};
