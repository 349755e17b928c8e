import type { EventStore } from '@openpenpal/event-store';
import type { Clock } from '@openpenpal/timing';
import { seedEventId } from '../ids.ts';
import { parseTaskEvents, taskStreamId } from './events.ts';
import { FIELD_DEFAULTS, type TaskDefinitionFields } from './fields.ts';
import { foldTask } from './fold.ts';
import { checkDefinition } from './validation.ts';

export interface DefaultTask {
  task_id: string;
  definition: TaskDefinitionFields;
}

const base = { ...FIELD_DEFAULTS, max_retries: 3, concurrency_policy: 'forbid' } as const;

/**
 * The five platform tasks of openpenpal-domain.md §1, with fixed ids (the task type's name), so that
 * seeding twice, or from two API replicas at once, defines each of them once. The cron schedules here
 * are the safety-net sweeps; the exact-time half of each task arrives as per-item triggers.
 */
export const DEFAULT_TASKS: readonly DefaultTask[] = [
  {
    task_id: 'future_letter_unlock',
    definition: {
      ...base,
      name: 'Future Letter Auto-unlock',
      description:
        'Releases scheduled future letters at their time; this sweep catches any release that was missed.',
      task_type: 'future_letter_unlock',
      priority: 'high',
      cron_expression: '*/10 * * * *',
      timeout_secs: 300,
    },
  },
  {
    task_id: 'ai_penpal_reply',
    definition: {
      ...base,
      name: 'AI Penpal Scheduled Replies',
      description:
        'Writes AI pen-pal replies after the delay the user chose; this sweep catches overdue requests.',
      task_type: 'ai_penpal_reply',
      priority: 'normal',
      cron_expression: '0 * * * *',
      timeout_secs: 900,
    },
  },
  {
    task_id: 'courier_timeout_check',
    definition: {
      ...base,
      name: 'Courier Timeout Reminder',
      description:
        'Reminds, reassigns or escalates courier tasks not delivered within the timeout after pickup.',
      task_type: 'courier_timeout_check',
      priority: 'high',
      cron_expression: '0 * * * *',
      timeout_secs: 600,
      payload: { timeout_hours: 48, reassign_after_reminders: 2 },
    },
  },
  {
    task_id: 'letter_cleanup',
    definition: {
      ...base,
      name: 'Letter Status Cleanup',
      description:
        'Moves letters not bound to a code within days_old days to the cleanup area and tells their authors.',
      task_type: 'letter_cleanup',
      priority: 'normal',
      cron_expression: '0 3 * * *',
      timeout_secs: 1800,
      payload: { days_old: 7, target_status: 'draft_cleanup' },
    },
  },
  {
    // 20:00 in each user's own zone: every quarter hour (UTC) the handler serves the zones whose local
    // time is then local_time; quarter hours reach every zone offset in use (+05:45 included).
    task_id: 'writing_inspiration_push',
    definition: {
      ...base,
      name: 'Daily Writing Inspiration Push',
      description:
        'Sends opted-in users a writing prompt at local_time in their own time zone, zone by zone.',
      task_type: 'writing_inspiration_push',
      priority: 'normal',
      cron_expression: '*/15 * * * *',
      timezone: 'UTC',
      timeout_secs: 600,
      payload: { local_time: '20:00' },
    },
  },
];

export type SeedOutcome = 'created' | 'exists' | 'deleted' | 'restored';

/**
 * Defines every default task that is missing (`POST /tasks/defaults`). A task that exists keeps the
 * operator's changes; one the operator deleted stays deleted unless `restoreDeleted`. Idempotent: the
 * creation event's id derives from the task id and the revision it follows, so a concurrent seed of the
 * same task is recognised by the store as the same event and stored once.
 */
export async function seedDefaultTasks(
  deps: { store: EventStore; clock: Pick<Clock, 'now'> },
  options: { actor: string; restoreDeleted?: boolean },
): Promise<{ task_id: string; outcome: SeedOutcome; revision: number }[]> {
  const results: { task_id: string; outcome: SeedOutcome; revision: number }[] = [];
  for (const task of DEFAULT_TASKS) {
    const stream = taskStreamId(task.task_id);
    const state = foldTask(parseTaskEvents(await deps.store.readStream(stream)));
    if (state !== undefined && (!state.deleted || options.restoreDeleted !== true)) {
      results.push({
        task_id: task.task_id,
        outcome: state.deleted ? 'deleted' : 'exists',
        revision: state.revision,
      });
      continue;
    }
    const generation = state === undefined ? 'new' : `after-${state.revision}`;
    const result = await deps.store.append(
      stream,
      [
        {
          id: seedEventId(task.task_id, generation),
          type: 'TaskCreated',
          data: {
            task_id: task.task_id,
            definition: checkDefinition(task.definition),
            is_active: true,
            by: options.actor,
            at: deps.clock.now(),
          },
        },
      ],
      { expectedRevision: state === undefined ? 'no_stream' : BigInt(state.revision) },
    );
    results.push({
      task_id: task.task_id,
      outcome: state === undefined ? 'created' : 'restored',
      revision: Number(result.nextExpectedRevision),
    });
  }
  return results;
}
