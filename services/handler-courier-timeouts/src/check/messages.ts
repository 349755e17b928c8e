import type { CourierTaskTimeoutEvent, NotificationRequested } from '@openpenpal/contracts';
import { notificationId, resultEventId, type CheckOutcome } from '@openpenpal/domain';
import type { EncodedBatch, Producer, TopicBinding } from '@openpenpal/messaging';

export interface CheckBindings {
  results: TopicBinding<'CourierTaskTimeoutEvent'>;
  notifications: TopicBinding<'NotificationRequested'>;
}

export interface CheckContext {
  executionId: string;
  timeoutHours: number;
  now: Date;
}

/** Only the last four characters travel (the notifier masks again); a full code lets anyone pick it up. */
function maskedCode(code: string | null): string {
  const trimmed = (code ?? '').trim();
  return `****${trimmed.slice(-4)}`;
}

type Notice = Pick<NotificationRequested, 'type' | 'user_id' | 'priority' | 'data' | 'dedupe_key'>;

function notification(context: CheckContext, notice: Notice) {
  const id = notificationId(notice.dedupe_key);
  return {
    key: id,
    messageId: id,
    value: {
      notification_id: id,
      channels: [],
      locale: null,
      execution_id: context.executionId,
      requested_at: context.now.getTime(),
      not_before: null,
      ...notice,
    } satisfies NotificationRequested,
  };
}

/**
 * The outbox messages of one check: the CourierTaskTimeoutEvent and who is told (§4, §5): the
 * courier (`courier_timeout_reminder`), both couriers (`task_reassigned`) or the zone's managing
 * courier (`task_reassignment_needed`). Ids derive from the task and the step, so a re-run of a
 * committed step (found not due) adds nothing, and a copy relayed twice keeps its message id.
 */
export function checkMessages(
  producer: Pick<Producer, 'encode'>,
  bindings: CheckBindings,
  context: CheckContext,
  outcome: CheckOutcome,
): EncodedBatch[] {
  if (outcome.kind === 'not_found' || outcome.kind === 'not_active' || outcome.kind === 'not_due') return [];
  const { task } = outcome;
  const holderUser = task.courier?.userId ?? task.holder;
  const letterCode = maskedCode(task.letterCode);
  const base = { taskId: task.taskId, occurredAt: context.now.getTime(), executionId: context.executionId };
  const event = (kind: string, version: string, value: CourierTaskTimeoutEvent['event']) => {
    const eventId = resultEventId(kind, task.taskId, version);
    return producer.encode(bindings.results, [
      { key: task.taskId, messageId: eventId, value: { eventId, ...base, event: value } },
    ]);
  };
  const notify = (notices: Notice[]) =>
    producer.encode(
      bindings.notifications,
      notices.map((notice) => notification(context, notice)),
    );

  switch (outcome.kind) {
    case 'reminded': {
      const version = `${task.acceptedAt.getTime()}:${outcome.timeoutCount}`;
      return [
        event('courier_task_timed_out', version, {
          'org.openpenpal.platform.CourierTaskTimedOut': {
            courierId: holderUser,
            acceptedAt: task.acceptedAt.getTime(),
            deadline: outcome.deadline.getTime(),
            timeoutCount: outcome.timeoutCount,
          },
        }),
        notify([
          {
            type: 'courier_timeout_reminder',
            user_id: holderUser,
            priority: 'high',
            data: {
              letter_code: letterCode,
              timeout_hours: String(context.timeoutHours),
              task_id: task.taskId,
            },
            dedupe_key: `courier_timeout_reminder:${task.taskId}:${version}`,
          },
        ]),
      ];
    }
    case 'reassigned': {
      const version = String(outcome.acceptedAt.getTime());
      const notice = (role: 'previous' | 'new', userId: string): Notice => ({
        type: 'task_reassigned',
        user_id: userId,
        priority: 'high',
        data: { role, letter_code: letterCode, task_id: task.taskId },
        dedupe_key: `task_reassigned:${task.taskId}:${version}:${role}`,
      });
      return [
        event('courier_task_reassigned', version, {
          'org.openpenpal.platform.CourierTaskReassigned': {
            previousCourierId: holderUser,
            newCourierId: outcome.to.userId,
            reason: outcome.reason,
            newDeadline: outcome.nextCheckAt.getTime(),
          },
        }),
        notify([notice('previous', holderUser), notice('new', outcome.to.userId)]),
      ];
    }
    case 'escalated': {
      const version = String(context.now.getTime());
      const batches = [
        event('courier_task_escalated', version, {
          'org.openpenpal.platform.CourierTaskEscalated': {
            courierId: holderUser,
            zoneCode: outcome.zoneCode,
            managerUserId: outcome.manager?.userId ?? null,
            reason: outcome.reason,
          },
        }),
      ];
      if (outcome.manager !== null) {
        batches.push(
          notify([
            {
              type: 'task_reassignment_needed',
              user_id: outcome.manager.userId,
              priority: 'high',
              data: { zone_code: outcome.zoneCode, letter_code: letterCode, task_id: task.taskId },
              dedupe_key: `task_reassignment_needed:${task.taskId}:${version}`,
            },
          ]),
        );
      }
      return batches;
    }
  }
}
