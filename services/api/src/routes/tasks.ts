import { SchedulerError } from '@openpenpal/errors';
import { seedDefaultTasks, taskStreamId } from '@openpenpal/task-definitions';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkPayload } from '../commands/payloads.ts';
import { republish, republishAnswer, republishBody } from '../commands/republish.ts';
import type { ApiDeps } from '../deps.ts';
import { errorResponses } from '../http/errors.ts';
import { EVENT_EXAMPLE } from '../http/examples.ts';
import { commandIdOf, expectedRevision, setETag, writeHeaders } from '../http/headers.ts';
import {
  acceptedAnswer,
  commandAnswer,
  createTaskBody,
  executionPage,
  listExecutionsQuery,
  listTasksQuery,
  reasonBody,
  recordedEventView,
  runNowBody,
  taskIdParams,
  taskPage,
  taskView,
  updateTaskBody,
} from '../http/schemas.ts';
import { actorOf } from '../plugins/auth.ts';
import { notFound } from '../plugins/errors.ts';
import { taskEventView, taskViewOf } from '../read/tasks.ts';
import { parseInstantQuery } from './query.ts';

const BASE = '/api/v1/scheduler';
const tags = ['tasks'];

const seedAnswer = z
  .object({
    results: z.array(
      z.object({
        task_id: z.string(),
        outcome: z.enum(['created', 'exists', 'deleted', 'restored']),
        revision: z.int(),
      }),
    ),
  })
  .meta({
    id: 'SeedResult',
    example: { results: [{ task_id: 'letter_cleanup', outcome: 'created', revision: 0 }] },
  });

const statsAnswer = z
  .object({
    total_tasks: z.int(),
    pending_tasks: z.int(),
    running_tasks: z.int(),
    completed_tasks: z.int(),
    failed_tasks: z.int(),
    tasks_by_type: z.record(z.string(), z.int()),
    tasks_by_status: z.record(z.string(), z.int()),
    avg_execution_time: z.number().describe('milliseconds, executions finished in the last 7 days'),
    success_rate: z.number().describe('0..1, executions finished in the last 7 days'),
    queue_length: z.int().describe('delayed messages waiting in the delay queue'),
    last_update: z.iso.datetime(),
  })
  .meta({
    id: 'SchedulerStats',
    example: {
      total_tasks: 5,
      pending_tasks: 1,
      running_tasks: 1,
      completed_tasks: 3,
      failed_tasks: 0,
      tasks_by_type: { letter_cleanup: 1, future_letter_unlock: 1 },
      tasks_by_status: { completed: 3, running: 1, pending: 1 },
      avg_execution_time: 2360,
      success_rate: 0.98,
      queue_length: 412,
      last_update: '2026-12-02T09:00:00.000Z',
    },
  });

/**
 * The platform's task routes (`/api/v1/scheduler/tasks…`, openpenpal-domain.md §6) plus update,
 * history and re-publish. Writes are commands on the event-sourced definitions: the answer comes
 * from the event store (read your writes) with the revision as ETag; lists come from the read models.
 */
export const taskRoutes: FastifyPluginCallbackZod<{ deps: ApiDeps }> = (app, { deps }, done) => {
  const { clock } = deps;
  const view = async (task: Parameters<typeof taskViewOf>[0]) =>
    taskViewOf(task, await deps.tasks.stats(task.task_id), clock.now());
  const existing = async (id: string) => {
    const task = await deps.definitions.getTask(id);
    if (task === undefined) throw notFound(`task ${id}`, { task_id: id });
    return task;
  };

  app.post(
    `${BASE}/tasks`,
    {
      config: { access: 'write' },
      schema: {
        tags,
        summary: 'Define a task',
        description: 'next_run_at is computed with the same cron function the ticker fires with.',
        headers: writeHeaders,
        body: createTaskBody,
        response: { 201: taskView, ...errorResponses(409) },
      },
    },
    async (request, reply) => {
      checkPayload(request.body.task_type, request.body.payload);
      const result = await deps.definitions.createTask(request.body, {
        actor: actorOf(request),
        ...optional('commandId', commandIdOf(request)),
      });
      setETag(reply, result.revision);
      return reply.code(201).send(await view(result.task));
    },
  );

  app.get(
    `${BASE}/tasks`,
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'List tasks',
        description:
          'Filters task_type, priority, status, is_active; page and page_size (<= 100); sort_by from a fixed list.',
        querystring: listTasksQuery,
        response: { 200: taskPage },
      },
    },
    async (request) => {
      const { tasks: page, total } = await deps.tasks.list(request.query, clock.now());
      return { tasks: page, total, page: request.query.page, page_size: request.query.page_size };
    },
  );

  app.post(
    `${BASE}/tasks/defaults`,
    {
      config: { access: 'write' },
      schema: {
        tags,
        summary: 'Define the platform default tasks that are missing',
        body: z.object({ restore_deleted: z.boolean().optional() }).nullish(),
        response: { 200: seedAnswer },
      },
    },
    async (request) => ({
      results: await seedDefaultTasks(
        { store: deps.store, clock },
        { actor: actorOf(request), restoreDeleted: request.body?.restore_deleted === true },
      ),
    }),
  );

  app.get(
    `${BASE}/tasks/:id`,
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'One task (its revision as ETag)',
        params: taskIdParams,
        response: { 200: taskView, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const task = await existing(request.params.id);
      setETag(reply, task.revision);
      return view(task);
    },
  );

  app.patch(
    `${BASE}/tasks/:id`,
    {
      config: { access: 'write' },
      schema: {
        tags,
        summary: 'Change a task',
        description: 'Only the fields given change. With If-Match, a newer revision is a 409 CONFLICT.',
        params: taskIdParams,
        headers: writeHeaders,
        body: updateTaskBody,
        response: { 200: taskView, ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (request.body.payload !== undefined || request.body.task_type !== undefined) {
        const task = await existing(id);
        checkPayload(request.body.task_type ?? task.task_type, request.body.payload ?? task.payload);
      }
      const result = await deps.definitions.updateTask(id, request.body, {
        actor: actorOf(request),
        ...optional('expectedRevision', expectedRevision(request)),
        ...optional('commandId', commandIdOf(request)),
      });
      setETag(reply, result.revision);
      return view(result.task);
    },
  );

  const stateCommand = (path: string, summary: string, command: 'enableTask' | 'disableTask') =>
    app.post(
      `${BASE}/tasks/:id/${path}`,
      {
        config: { access: 'write' },
        schema: {
          tags,
          summary,
          params: taskIdParams,
          headers: writeHeaders,
          body: reasonBody,
          response: { 200: commandAnswer, ...errorResponses(404, 409) },
        },
      },
      async (request, reply) => {
        const result = await deps.definitions[command](request.params.id, {
          actor: actorOf(request),
          reason: request.body?.reason ?? null,
          ...optional('expectedRevision', expectedRevision(request)),
          ...optional('commandId', commandIdOf(request)),
        });
        setETag(reply, result.revision);
        return { task: await view(result.task), changed: result.changed };
      },
    );
  stateCommand('enable', 'Enable a task (it fires on its schedule again)', 'enableTask');
  stateCommand('disable', 'Disable a task (it stops firing on its schedule)', 'disableTask');

  app.post(
    `${BASE}/tasks/:id/execute`,
    {
      config: { access: 'write' },
      schema: {
        tags,
        summary: 'Run a task now',
        description:
          'Recorded as TaskRunRequested; the ticker fires it once (even while paused). `id` is the command id.',
        params: taskIdParams,
        headers: writeHeaders,
        body: runNowBody,
        response: { 202: acceptedAnswer, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const task = await existing(request.params.id);
      checkPayload(task.task_type, request.body?.payload_override, 'payload_override');
      const result = await deps.definitions.requestRun(task.task_id, {
        actor: actorOf(request),
        reason: request.body?.reason ?? null,
        payloadOverride: request.body?.payload_override ?? null,
        ...optional('commandId', commandIdOf(request)),
      });
      const commandId = result.eventIds[0];
      if (commandId === undefined) throw new SchedulerError('INTERNAL', 'a run request recorded no event');
      return reply.code(202).send({ accepted: true, id: commandId });
    },
  );

  app.delete(
    `${BASE}/tasks/:id`,
    {
      config: { access: 'write' },
      schema: {
        tags,
        summary: 'Delete a task (its cron entry goes with it)',
        params: taskIdParams,
        headers: writeHeaders,
        querystring: z.object({ reason: z.string().max(2_000).optional() }),
        response: { 200: commandAnswer, ...errorResponses(404, 409) },
      },
    },
    async (request) => {
      const result = await deps.definitions.deleteTask(request.params.id, {
        actor: actorOf(request),
        reason: request.query.reason ?? null,
        ...optional('expectedRevision', expectedRevision(request)),
        ...optional('commandId', commandIdOf(request)),
      });
      return { task: await view(result.task), changed: result.changed };
    },
  );

  app.get(
    `${BASE}/tasks/:id/executions`,
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: "A task's executions, newest first, with cursor paging",
        params: taskIdParams,
        querystring: listExecutionsQuery.omit({ task_id: true }),
        response: { 200: executionPage },
      },
    },
    async (request) =>
      deps.executions.list({
        ...request.query,
        task_id: request.params.id,
        from: parseInstantQuery('from', request.query.from),
        to: parseInstantQuery('to', request.query.to),
      }),
  );

  app.get(
    `${BASE}/tasks/:id/history`,
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: "A task's recorded events (its definition history), oldest first",
        params: taskIdParams,
        response: {
          200: z
            .object({ events: z.array(recordedEventView) })
            .meta({ example: { events: [EVENT_EXAMPLE] } }),
          ...errorResponses(404),
        },
      },
    },
    async (request) => {
      const events = await deps.definitions.readTaskEvents(request.params.id);
      if (events.length === 0) throw notFound(`task ${request.params.id}`, { task_id: request.params.id });
      return {
        events: events.map(taskEventView),
      };
    },
  );

  app.post(
    `${BASE}/tasks/:id/republish`,
    {
      config: { access: 'write' },
      schema: {
        tags,
        summary: "Re-publish a task's definition history to a task-definitions topic",
        params: taskIdParams,
        body: republishBody,
        response: { 200: republishAnswer, ...errorResponses(404) },
      },
    },
    async (request) => {
      await existing(request.params.id);
      return republish(deps, 'task', taskStreamId(request.params.id), request.body);
    },
  );

  app.get(
    `${BASE}/stats`,
    {
      config: { access: 'read' },
      schema: { tags, summary: 'Task and execution statistics', response: { 200: statsAnswer } },
    },
    async () => {
      const [summary, sizes] = await Promise.all([deps.tasks.summary(), deps.delayed.sizes()]);
      const by = summary.tasks_by_status;
      return {
        total_tasks: summary.total_tasks,
        pending_tasks: by.pending ?? 0,
        running_tasks: by.running ?? 0,
        completed_tasks: by.completed ?? 0,
        failed_tasks: by.failed ?? 0,
        tasks_by_type: summary.tasks_by_type,
        tasks_by_status: by,
        avg_execution_time: summary.avg_execution_time,
        success_rate: summary.success_rate,
        queue_length: sizes.pending,
        last_update: new Date(clock.now()).toISOString(),
      };
    },
  );
  done();
};

/** `{ [key]: value }` when the value is defined, else nothing (exactOptionalPropertyTypes). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
