import { unionBranch, type CourierTaskEvent } from '@openpenpal/contracts';
import type { DelayClient } from '@openpenpal/delay-client';
import { ACTIVE_COURIER_TASK_STATES, type CourierTimeoutRepository, type Refusal } from '@openpenpal/domain';
import type { ConsumedMessage } from '@openpenpal/messaging';
import { TIME_RANGE } from '@openpenpal/task-definitions/validation';
import type { Logger } from 'pino';
import { checkMessageId, scheduleCheck, type CheckTriggerSpec } from '../check/schedule.ts';

export interface InboundDeps {
  repository: CourierTimeoutRepository;
  delay: DelayClient;
  spec: CheckTriggerSpec;
  refuse: (message: ConsumedMessage<CourierTaskEvent>, refusal: Refusal) => Promise<void>;
  logger: Logger;
}

const MAX_ID = 64;
const CONTROL = /\p{Cc}/u;
const HOUR_MS = 3_600_000;

function idProblem(field: string, id: string): string | null {
  if (id.length === 0) return `${field}: must not be empty`;
  if (id.length > MAX_ID) return `${field}: at most ${MAX_ID} characters`;
  if (CONTROL.test(id)) return `${field}: no control characters`;
  return null;
}

const outOfRange = (at: number) => at < TIME_RANGE.min || at > TIME_RANGE.max;

/**
 * CourierTaskAccepted → the check at `acceptedAt + timeout` recorded, then scheduled through the
 * delay queue; CourierTaskDelivered / CourierTaskFailed → the pending check closed, then cancelled
 * (a check already on its way finds the task delivered or failed under its row lock and does
 * nothing). An event for a task that does not exist, or with a bad id or time, is refused with its
 * reason and committed; the partition goes on.
 */
export async function handleCourierTaskEvent(
  deps: InboundDeps,
  message: ConsumedMessage<CourierTaskEvent>,
): Promise<void> {
  const event = unionBranch(message.value.event);
  const eventType = event.name.slice(event.name.lastIndexOf('.') + 1);
  const taskId = event.value.taskId;
  const refuse = (code: Refusal['code'], reason: string) =>
    deps.refuse(message, {
      code,
      reason,
      eventType,
      subjectId: taskId === '' ? null : taskId.slice(0, 256),
      originalEventId: message.value.eventId,
    });
  const problem = idProblem('taskId', taskId);
  if (problem) return refuse('VALIDATION_FAILED', problem);
  if (outOfRange(message.value.occurredAt)) {
    return refuse('VALIDATION_FAILED', 'occurredAt: must be between 2000-01-01 and 2100-01-01');
  }

  if (event.name === 'org.openpenpal.platform.CourierTaskAccepted') {
    const courierProblem = idProblem('courierId', event.value.courierId);
    if (courierProblem) return refuse('VALIDATION_FAILED', courierProblem);
    const acceptedAt = event.value.acceptedAt;
    if (outOfRange(acceptedAt)) {
      return refuse('VALIDATION_FAILED', 'acceptedAt: must be between 2000-01-01 and 2100-01-01');
    }
    const task = await deps.repository.taskStatus(taskId);
    if (task === null) return refuse('NOT_FOUND', `courier task ${taskId} does not exist`);
    if (!(ACTIVE_COURIER_TASK_STATES as readonly string[]).includes(task.status)) {
      deps.logger.info(
        { taskId, status: task.status },
        'CourierTaskAccepted for a task no longer active: no check',
      );
      return;
    }
    const dueAt = new Date(acceptedAt + deps.spec.timeoutHours * HOUR_MS);
    await deps.repository.recordPendingCheck(taskId, checkMessageId(taskId, dueAt), dueAt);
    await scheduleCheck(deps.delay, deps.spec, taskId, dueAt);
    return;
  }

  const task = await deps.repository.taskStatus(taskId);
  if (task === null) return refuse('NOT_FOUND', `courier task ${taskId} does not exist`);
  const pending = await deps.repository.closePendingCheck(taskId);
  if (pending !== null) await deps.delay.cancel({ messageId: pending, reason: eventType });
}
