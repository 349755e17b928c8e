import { randomUUID } from 'node:crypto';
import type { TaskCommand } from '@openpenpal/contracts';
import { nextFireTime, validateCron } from '@openpenpal/cron';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { errorResponses } from '../http/errors.ts';
import { EVENT_EXAMPLE, EXECUTION_EXAMPLE } from '../http/examples.ts';
import { commandIdOf, writeHeaders } from '../http/headers.ts';
import {
  acceptedAnswer,
  executionPage,
  listTasksQuery,
  recordedEventView,
  taskPage,
  pathId,
} from '../http/schemas.ts';
import { actorOf } from '../plugins/auth.ts';
import { notFound } from '../plugins/errors.ts';
import { taskEventView, type ActiveSchedule } from '../read/tasks.ts';

const BASE = '/api/admin/scheduler';
const tags = ['scheduler'];
const NEXT_RUNS = 10;

const statusAnswer = z
  .object({
    leader: z
      .object({ instance: z.string(), fencing_token: z.int(), lease_expires_in_ms: z.int() })
      .nullable()
      .describe('the ticker replica that fires now; null when none holds the lease'),
    paused: z.boolean(),
    paused_since: z.iso.datetime().nullable(),
    paused_by: z.string().nullable(),
    task_count: z.int().describe('active tasks'),
    next_runs: z.array(z.object({ task_id: z.string(), name: z.string(), next_run_at: z.iso.datetime() })),
    lag_ms: z
      .int()
      .describe("how far the ticker is behind: now minus the oldest due time after a task's last fire"),
    delay_queue: z.object({ pending: z.int(), in_flight: z.int() }),
    checked_at: z.iso.datetime(),
  })
  .meta({
    id: 'SchedulerStatus',
    example: {
      leader: { instance: 'ticker-0:41', fencing_token: 17, lease_expires_in_ms: 8200 },
      paused: false,
      paused_since: null,
      paused_by: null,
      task_count: 5,
      next_runs: [
        {
          task_id: 'future_letter_unlock',
          name: 'Future Letter Auto-unlock',
          next_run_at: '2026-12-02T09:10:00.000Z',
        },
      ],
      lag_ms: 0,
      delay_queue: { pending: 412, in_flight: 2 },
      checked_at: '2026-12-02T09:04:00.000Z',
    },
  });

/** Lag: the oldest cron time due but not yet fired by the ticker (after its checkpoint), as a distance from now. */
function lagOf(schedules: ActiveSchedule[], checkpoints: Map<string, number>, now: number): number {
  let lag = 0;
  for (const task of schedules) {
    const last = checkpoints.get(task.id);
    if (task.cron_expression === null || last === undefined) continue;
    try {
      const next = nextFireTime(validateCron(task.cron_expression, task.timezone), last);
      if (next !== undefined && next <= now) lag = Math.max(lag, now - next);
    } catch {
      // A schedule the ticker cannot read does not fire: no lag to report for it.
    }
  }
  return lag;
}

/**
 * The specification's `/api/admin/scheduler/*` routes: status (from the ticker's Redis state and the
 * read models), pause and resume (TaskCommand messages the ticker's leader applies), jobs and their
 * logs (the tasks and their executions and definition history).
 */
export const adminSchedulerRoutes: FastifyPluginCallbackZod<{ deps: ApiDeps }> = (app, { deps }, done) => {
  app.get(
    `${BASE}/status`,
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'Leader, pause state, task count, next runs, lag',
        response: { 200: statusAnswer },
      },
    },
    async () => {
      const now = deps.clock.now();
      const [state, schedules, sizes] = await Promise.all([
        deps.ticker.state(),
        deps.tasks.schedules(),
        deps.delayed.sizes(),
      ]);
      const next = schedules
        .filter((s): s is ActiveSchedule & { next_run_at: string } => s.next_run_at !== null)
        .sort((a, b) => a.next_run_at.localeCompare(b.next_run_at))
        .slice(0, NEXT_RUNS)
        .map((s) => ({ task_id: s.id, name: s.name, next_run_at: s.next_run_at }));
      return {
        leader: state.leader,
        paused: state.paused,
        paused_since: state.paused_since,
        paused_by: state.paused_by,
        task_count: schedules.length,
        next_runs: next,
        lag_ms: lagOf(schedules, state.checkpoints, now),
        delay_queue: sizes,
        checked_at: new Date(now).toISOString(),
      };
    },
  );

  const command = (name: 'pause' | 'resume', summary: string) =>
    app.post(
      `${BASE}/${name}`,
      {
        config: { access: 'write' },
        schema: {
          tags,
          summary,
          description:
            'A TaskCommand to the ticker; the leader applies it within a tick (see status). `id` is the command id.',
          headers: writeHeaders,
          body: z.object({ reason: z.string().max(2_000).nullable().optional() }).nullish(),
          response: { 202: acceptedAnswer },
        },
      },
      async (request, reply) => {
        const commandId = commandIdOf(request) ?? randomUUID();
        const value: TaskCommand = {
          command_id: commandId,
          command: name,
          task_id: null,
          requested_by: actorOf(request),
          requested_at: deps.clock.now(),
          reason: request.body?.reason ?? null,
          payload_override: null,
        };
        await deps.producer.send({ topic: deps.config.API_COMMANDS_TOPIC, schema: 'TaskCommand' }, [
          { key: '*', value, messageId: commandId },
        ]);
        return reply.code(202).send({ accepted: true, id: commandId });
      },
    );
  command('pause', 'Pause the scheduler: no cron task fires until resume (run-now still does)');
  command('resume', "Resume the scheduler (times missed while paused follow each task's misfire policy)");

  app.get(
    `${BASE}/jobs`,
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'Jobs: the tasks (as GET /api/v1/scheduler/tasks)',
        querystring: listTasksQuery,
        response: { 200: taskPage },
      },
    },
    async (request) => {
      const { tasks, total } = await deps.tasks.list(request.query, deps.clock.now());
      return { tasks, total, page: request.query.page, page_size: request.query.page_size };
    },
  );

  app.get(
    `${BASE}/jobs/:id/logs`,
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: "A job's logs: its latest executions and its definition history",
        params: z.object({ id: pathId(128) }),
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
        response: {
          200: z
            .object({ executions: executionPage.shape.executions, history: z.array(recordedEventView) })
            .meta({ example: { executions: [EXECUTION_EXAMPLE], history: [EVENT_EXAMPLE] } }),
          ...errorResponses(404),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const history = await deps.definitions.readTaskEvents(id);
      if (history.length === 0) throw notFound(`job ${id}`, { task_id: id });
      const { executions } = await deps.executions.list({ task_id: id, limit: request.query.limit });
      return {
        executions,
        history: history.map(taskEventView),
      };
    },
  );
  done();
};
