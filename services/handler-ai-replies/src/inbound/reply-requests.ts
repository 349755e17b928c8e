import type { AiReplyRequested, TaskTrigger } from '@openpenpal/contracts';
import type { DelayClient } from '@openpenpal/delay-client';
import { aiReplyId, exactExecutionId, type AiReplyRepository, type Refusal } from '@openpenpal/domain';
import type { ConsumedMessage, TopicBinding } from '@openpenpal/messaging';
import type { Logger } from 'pino';
import { isPersona } from '../provider/personas.ts';
import { dueTime, isIanaZone, localDay, outOfQuietHours, parseQuietHours } from '../schedule/due-time.ts';

export interface InboundDeps {
  repository: AiReplyRepository;
  delay: DelayClient;
  triggers: TopicBinding<'TaskTrigger'>;
  task: { id: string; maxRetries: number; timeoutSecs: number };
  limits: { dailyQuota: number; cooldownHours: number; defaultQuietHours: string };
  refuse: (message: ConsumedMessage<AiReplyRequested>, refusal: Refusal) => Promise<void>;
  logger: Logger;
}

const HOUR_MS = 3_600_000;
const MAX_ID = 64;
const CONTROL = /\p{Cc}/u;
// 2000-01-01 to 2100-01-01: a time outside is a producer's bug, not a request.
const TIME_MIN = Date.UTC(2000, 0, 1);
const TIME_MAX = Date.UTC(2100, 0, 1);

function idProblem(field: string, id: string): string | null {
  if (id.length === 0) return `${field}: must not be empty`;
  if (id.length > MAX_ID) return `${field}: at most ${MAX_ID} characters`;
  if (CONTROL.test(id)) return `${field}: no control characters`;
  return null;
}

/** The delayed-message id of a request's reply: one per request, never replaced. */
function replyMessageId(replyId: string): string {
  return `ai_penpal_reply:${replyId}`;
}

/**
 * AiReplyRequested → checked (ids, persona, zone, delay range; then under a per-user lock: the letter
 * is the user's, the daily quota in the user's local day, the cooldown per persona), the due time
 * moved out of the user's quiet hours, the `ai_replies` row written (`scheduled`), then the exact
 * trigger scheduled through the delay queue. Recorded first, sent second: a redelivery finds the row
 * and schedules the same trigger again (same delayed-message id, `keep`). A refused request is
 * reported with its reason and committed; nothing else changes.
 */
export async function handleReplyRequest(
  deps: InboundDeps,
  message: ConsumedMessage<AiReplyRequested>,
): Promise<void> {
  const request = message.value;
  const refuse = (code: Refusal['code'], reason: string) =>
    deps.refuse(message, {
      code,
      reason,
      eventType: 'AiReplyRequested',
      subjectId: request.letterId === '' ? null : request.letterId.slice(0, 256),
      originalEventId: request.eventId,
    });
  const problem = idProblem('letterId', request.letterId) ?? idProblem('userId', request.userId);
  if (problem) return refuse('VALIDATION_FAILED', problem);
  if (!isPersona(request.persona)) {
    return refuse('VALIDATION_FAILED', `persona: ${request.persona} is not one of the eight personas`);
  }
  if (!isIanaZone(request.timezone)) {
    return refuse(
      'VALIDATION_FAILED',
      `timezone: ${JSON.stringify(request.timezone.slice(0, 64))} is not an IANA time zone`,
    );
  }
  if (request.requestedAt < TIME_MIN || request.requestedAt > TIME_MAX) {
    return refuse('VALIDATION_FAILED', 'requestedAt: must be between 2000-01-01 and 2100-01-01');
  }
  const due = dueTime(request.delay, request.requestedAt, request.timezone);
  if (!due.ok) return refuse('VALIDATION_FAILED', due.reason);

  // Quiet hours are the user's (the reply's recipient), in the zone their preferences name.
  const preferences = await deps.repository.preferences(request.userId);
  const quietZone = preferences && isIanaZone(preferences.timezone) ? preferences.timezone : request.timezone;
  const quiet = parseQuietHours(preferences ? preferences.quietHours : deps.limits.defaultQuietHours);
  const dueAt = outOfQuietHours(due.dueAt, quiet, quietZone);

  const id = aiReplyId(request.eventId);
  const day = localDay(request.requestedAt, request.timezone);
  const recorded = await deps.repository.record(
    {
      id,
      requestEventId: request.eventId,
      letterId: request.letterId,
      userId: request.userId,
      persona: request.persona,
      timezone: request.timezone,
      requestedAt: new Date(request.requestedAt),
      dueAt: new Date(dueAt),
    },
    {
      dayStart: day.start,
      dayEnd: day.end,
      dailyQuota: deps.limits.dailyQuota,
      cooldownSince: new Date(request.requestedAt - deps.limits.cooldownHours * HOUR_MS),
    },
  );
  switch (recorded.outcome) {
    case 'unknown_letter':
      return refuse('NOT_FOUND', `letter ${request.letterId} does not exist`);
    case 'not_owner':
      return refuse(
        'VALIDATION_FAILED',
        `letterId: letter ${request.letterId} does not belong to user ${request.userId}`,
      );
    case 'quota_exceeded':
      return refuse(
        'VALIDATION_FAILED',
        `quota: user ${request.userId} already has ${recorded.used} AI replies on this local day (at most ${deps.limits.dailyQuota})`,
      );
    case 'cooldown':
      return refuse(
        'VALIDATION_FAILED',
        `cooldown: user ${request.userId} asked ${request.persona} at ${recorded.lastRequestedAt.toISOString()}, less than ${deps.limits.cooldownHours} h before`,
      );
    case 'duplicate':
      if (recorded.status !== 'scheduled') return;
      return schedule(deps, id, recorded.dueAt.getTime(), request.timezone);
    case 'recorded':
      deps.logger.debug({ aiReplyId: id, dueAt: new Date(dueAt).toISOString() }, 'AI reply scheduled');
      return schedule(deps, id, dueAt, request.timezone);
  }
}

async function schedule(deps: InboundDeps, id: string, dueAt: number, timezone: string): Promise<void> {
  const trigger: TaskTrigger = {
    execution_id: exactExecutionId('ai_penpal_reply', id, dueAt),
    task_id: deps.task.id,
    task_type: 'ai_penpal_reply',
    task_name: 'AI Penpal Scheduled Replies',
    timezone,
    nominal_time: dueAt,
    fire_time: dueAt,
    attempt: 1,
    max_retries: deps.task.maxRetries,
    timeout_secs: deps.task.timeoutSecs,
    payload: '{}',
    source: 'delayed',
    fencing_token: 0,
    original_execution_id: null,
    business_key: id,
  };
  // Keyed by the reply, not the task: replies due together spread over the trigger partitions.
  await deps.delay.schedule({
    messageId: replyMessageId(id),
    dueAt,
    ifPending: 'keep',
    target: { binding: deps.triggers, key: id, value: trigger },
  });
}
