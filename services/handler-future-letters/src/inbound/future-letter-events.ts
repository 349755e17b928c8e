import { unionBranch, type FutureLetterEvent, type TaskTrigger } from '@openpenpal/contracts';
import type { DelayClient } from '@openpenpal/delay-client';
import { exactExecutionId, type FutureLetterRepository, type Refusal } from '@openpenpal/domain';
import type { ConsumedMessage, TopicBinding } from '@openpenpal/messaging';
import { TIME_RANGE } from '@openpenpal/task-definitions/validation';
import type { Logger } from 'pino';

export interface InboundDeps {
  repository: FutureLetterRepository;
  delay: DelayClient;
  triggers: TopicBinding<'TaskTrigger'>;
  task: { id: string; maxRetries: number; timeoutSecs: number };
  refuse: (message: ConsumedMessage<FutureLetterEvent>, refusal: Refusal) => Promise<void>;
  logger: Logger;
}

/**
 * The delayed-message id of a letter's release at one time. The time is part of it because the delay
 * queue never schedules an id again once it fired (a release that came too early, a re-schedule after
 * a cancel): a new time is a new message, and the one it replaces is cancelled by its own id.
 */
function releaseMessageId(letterId: string, dueAt: number): string {
  return `future_letter_unlock:${letterId}@${dueAt}`;
}

const MAX_LETTER_ID = 64;
const CONTROL = /\p{Cc}/u;

function letterIdProblem(letterId: string): string | null {
  if (letterId.length === 0) return 'letterId: must not be empty';
  if (letterId.length > MAX_LETTER_ID) return `letterId: at most ${MAX_LETTER_ID} characters`;
  if (CONTROL.test(letterId)) return 'letterId: no control characters';
  return null;
}

/**
 * FutureLetterScheduled → the scheduler's record of the time, then an exact-time trigger through
 * the delay queue (a new time cancels the pending one's message); FutureLetterCancelled
 * → the cancel recorded (a release already under way then changes nothing), then the delayed
 * message cancelled. Recorded first, sent second: a crash in between redoes both on redelivery.
 * An event for a letter that does not exist, or with a time out of range, is refused with its reason.
 */
export async function handleFutureLetterEvent(
  deps: InboundDeps,
  message: ConsumedMessage<FutureLetterEvent>,
): Promise<void> {
  const event = unionBranch(message.value.event);
  const eventType = event.name.slice(event.name.lastIndexOf('.') + 1);
  const letterId = event.value.letterId;
  const refuse = (code: Refusal['code'], reason: string) =>
    deps.refuse(message, {
      code,
      reason,
      eventType,
      subjectId: letterId === '' ? null : letterId.slice(0, 256),
      originalEventId: message.value.eventId,
    });
  const idProblem = letterIdProblem(letterId);
  if (idProblem) return refuse('VALIDATION_FAILED', idProblem);
  const eventAt = message.value.occurredAt;
  if (eventAt < TIME_RANGE.min || eventAt > TIME_RANGE.max) {
    return refuse('VALIDATION_FAILED', 'occurredAt: must be between 2000-01-01 and 2100-01-01');
  }

  if (event.name === 'org.openpenpal.platform.FutureLetterScheduled') {
    const dueAt = event.value.scheduledAt;
    if (dueAt < TIME_RANGE.min || dueAt > TIME_RANGE.max) {
      return refuse('VALIDATION_FAILED', 'scheduledAt: must be between 2000-01-01 and 2100-01-01');
    }
    const recorded = await deps.repository.recordScheduled(letterId, new Date(dueAt), new Date(eventAt));
    if (recorded.outcome === 'unknown_letter')
      return refuse('NOT_FOUND', `letter ${letterId} does not exist`);
    if (recorded.outcome === 'stale') {
      deps.logger.info({ letterId }, 'older FutureLetterScheduled ignored (a newer event is recorded)');
      return;
    }
    const trigger: TaskTrigger = {
      execution_id: exactExecutionId('future_letter_unlock', letterId, dueAt),
      task_id: deps.task.id,
      task_type: 'future_letter_unlock',
      task_name: 'Future Letter Auto-unlock',
      timezone: event.value.timezone ?? 'UTC',
      nominal_time: dueAt,
      fire_time: dueAt,
      attempt: 1,
      max_retries: deps.task.maxRetries,
      timeout_secs: deps.task.timeoutSecs,
      payload: '{}',
      source: 'delayed',
      fencing_token: 0,
      original_execution_id: null,
      business_key: letterId,
    };
    const previous = recorded.previous?.getTime();
    if (previous !== undefined && previous !== dueAt) {
      await deps.delay.cancel({
        messageId: releaseMessageId(letterId, previous),
        reason: 'FutureLetterScheduled: new time',
      });
    }
    await deps.delay.schedule({
      messageId: releaseMessageId(letterId, dueAt),
      dueAt,
      // Keyed by the letter, not the task: exact triggers of many letters spread over the partitions.
      target: { binding: deps.triggers, key: letterId, value: trigger },
    });
    return;
  }

  const recorded = await deps.repository.recordCancelled(letterId, new Date(eventAt));
  if (recorded.outcome === 'unknown_letter') return refuse('NOT_FOUND', `letter ${letterId} does not exist`);
  if (recorded.outcome === 'stale') return;
  await deps.delay.cancel({
    messageId: releaseMessageId(letterId, recorded.scheduledAt.getTime()),
    reason: 'FutureLetterCancelled',
  });
}
