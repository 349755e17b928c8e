import { randomUUID } from 'node:crypto';
import { topicSpec, triggerTopicName, type ExecutionEvent, type TaskTrigger } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import type { EventStore, RecordedEvent } from '@openpenpal/event-store';
import type { Producer } from '@openpenpal/messaging';
import {
  EXECUTION_REPLAYED,
  RERUNNABLE_STATUSES,
  checkReason,
  executionStreamId,
  foldExecution,
  foldTask,
  parseTaskEvents,
  taskStreamId,
  type RunnableTaskType,
} from '@openpenpal/task-definitions';
import type { Clock } from '@openpenpal/timing';
import { replayExecutionId, replayMessageId } from './ids.ts';

export interface RerunDeps {
  store: EventStore;
  producer: Producer;
  clock: Pick<Clock, 'now'>;
  /** Where execution events and triggers go; the catalogue's topics by default (tests pass their own). */
  topics?: { executionEvents?: string; trigger?: (taskType: RunnableTaskType) => string };
  /** Recorded as the TaskTriggered event's `worker` (the API instance). */
  worker?: string;
}

export interface RerunRequest {
  executionId: string;
  /** Who asks (an admin's user id); recorded on the link event. */
  requestedBy: string;
  reason?: string | null;
  /** The caller's idempotency key: the same key always re-runs as the same new execution. */
  commandId?: string;
}

export interface RerunResult {
  executionId: string;
  originalExecutionId: string;
  attempt: number;
  triggerTopic: string;
}

const recordedAtOf = (event: RecordedEvent) => ({
  type: event.type,
  data: event.data,
  recordedAt: event.createdAt.getTime(),
});

/**
 * Re-runs a failed execution: a new execution id, `attempt` = the original's attempts + 1, source
 * `replay` and `original_execution_id` pointing back. Order of writes: first an ExecutionReplayed event
 * in the original's stream (the durable intent and the link forwards), then the TaskTriggered execution
 * event, then the trigger itself. A retry with the same `commandId` repeats the same ids all the way,
 * so the store, the recorder and the handler each see it once.
 */
export async function rerunExecution(deps: RerunDeps, request: RerunRequest): Promise<RerunResult> {
  if (typeof request.requestedBy !== 'string' || request.requestedBy.trim() === '') {
    throw new SchedulerError('VALIDATION_FAILED', 'requestedBy names who asks', {
      details: { field: 'requested_by', problem: 'a non-empty user id or service name' },
    });
  }
  const reason = checkReason(request.reason);
  const stream = executionStreamId(request.executionId);
  const recorded = await deps.store.readStream(stream);
  const original = foldExecution(recorded.map(recordedAtOf));
  if (original === undefined) {
    throw new SchedulerError('NOT_FOUND', `no recorded execution ${request.executionId}`, {
      details: { execution_id: request.executionId },
    });
  }
  if (!RERUNNABLE_STATUSES.includes(original.status)) {
    throw new SchedulerError(
      'CONFLICT',
      `execution ${request.executionId} is ${original.status}, not failed`,
      {
        details: {
          execution_id: request.executionId,
          status: original.status,
          rerunnable: RERUNNABLE_STATUSES,
        },
      },
    );
  }
  const task = foldTask(parseTaskEvents(await deps.store.readStream(taskStreamId(original.task_id))));
  if (task === undefined || task.deleted) {
    throw new SchedulerError(
      'NOT_FOUND',
      `task ${original.task_id} of execution ${request.executionId} is gone`,
      {
        details: { task_id: original.task_id, execution_id: request.executionId },
      },
    );
  }
  const executionId = request.commandId === undefined ? randomUUID() : replayExecutionId(request.commandId);
  const attempt = original.attempts + 1;
  const now = deps.clock.now();
  const triggerTopic = deps.topics?.trigger?.(task.task_type) ?? triggerTopicName(task.task_type);
  await deps.store.append(stream, [
    {
      id: replayMessageId(executionId, 'link'),
      type: EXECUTION_REPLAYED,
      data: { new_execution_id: executionId, attempt, requested_by: request.requestedBy, reason, at: now },
    },
  ]);

  const nominalTime = original.nominal_time ?? now;
  const triggered: ExecutionEvent = {
    event_id: replayMessageId(executionId, 'triggered'),
    execution_id: executionId,
    task_id: task.task_id,
    task_type: task.task_type,
    occurred_at: now,
    worker: deps.worker ?? null,
    event: {
      'org.openpenpal.scheduler.TaskTriggered': {
        nominal_time: nominalTime,
        fire_time: now,
        attempt,
        source: 'replay',
        fencing_token: 0,
        trigger_topic: triggerTopic,
        original_execution_id: request.executionId,
        business_key: original.business_key,
      },
    },
  };
  const trigger: TaskTrigger = {
    execution_id: executionId,
    task_id: task.task_id,
    task_type: task.task_type,
    task_name: task.name,
    timezone: task.timezone,
    nominal_time: nominalTime,
    fire_time: now,
    attempt,
    max_retries: task.max_retries,
    timeout_secs: task.timeout_secs,
    payload: JSON.stringify(task.payload),
    source: 'replay',
    fencing_token: 0,
    original_execution_id: request.executionId,
    business_key: original.business_key,
  };
  const eventsTopic = deps.topics?.executionEvents ?? topicSpec('scheduler.execution-events').name;
  await deps.producer.send({ topic: eventsTopic, schema: 'ExecutionEvent' }, [
    { key: executionId, value: triggered, messageId: triggered.event_id },
  ]);
  await deps.producer.send({ topic: triggerTopic, schema: 'TaskTrigger' }, [
    { key: task.task_id, value: trigger, messageId: replayMessageId(executionId, 'trigger') },
  ]);
  return { executionId, originalExecutionId: request.executionId, attempt, triggerTopic };
}
