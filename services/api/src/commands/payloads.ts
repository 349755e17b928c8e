import { SchedulerError } from '@openpenpal/errors';
import type { RunnableTaskType } from '@openpenpal/task-definitions';
import { z } from 'zod';

/*
 * The payload each task type's handler reads, as openpenpal-domain.md §1 and the default tasks
 * define them. Known fields are typed and bounded; other fields pass (a handler may read more than
 * the defaults name), so a newer handler's options are not refused here.
 */
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time HH:MM');

const PAYLOAD_SCHEMAS: Partial<Record<RunnableTaskType, z.ZodType>> = {
  courier_timeout_check: z.looseObject({
    timeout_hours: z.int('an integer number of hours').min(1).max(720).optional(),
    reassign_after_reminders: z.int('an integer').min(0).max(10).optional(),
  }),
  letter_cleanup: z.looseObject({
    days_old: z.int('an integer number of days').min(1).max(3_650).optional(),
    target_status: z.literal('draft_cleanup', "draft_cleanup (the platform's cleanup status)").optional(),
  }),
  writing_inspiration_push: z.looseObject({ local_time: hhmm.optional() }),
  future_letter_unlock: z.looseObject({ batch_size: z.int().min(1).max(10_000).optional() }),
  ai_penpal_reply: z.looseObject({ batch_size: z.int().min(1).max(10_000).optional() }),
  notification_cleanup: z.looseObject({ days_old: z.int().min(1).max(3_650).optional() }),
};

/** Checks a payload (or a run-now override) against its task type's schema; names the field. */
export function checkPayload(taskType: RunnableTaskType, payload: unknown, field = 'payload'): void {
  const schema = PAYLOAD_SCHEMAS[taskType];
  if (schema === undefined || payload === undefined || payload === null) return;
  const parsed = schema.safeParse(payload);
  if (parsed.success) return;
  const problems = parsed.error.issues.map((issue) => ({
    field: [field, ...issue.path.map(String)].join('.'),
    problem: issue.message,
  }));
  const first = problems[0] ?? { field, problem: 'invalid' };
  throw new SchedulerError(
    'VALIDATION_FAILED',
    `invalid task: ${problems.map((p) => `${p.field}: ${p.problem}`).join('; ')}`,
    { details: { field: first.field, problem: first.problem, problems, task_type: taskType } },
  );
}
