import { createContracts, type NotificationRequested } from '@openpenpal/contracts';
import type { CheckOutcome } from '@openpenpal/domain';
import { createKafkaClient, createProducer } from '@openpenpal/messaging';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { checkMessages } from '../src/check/messages.ts';

const contracts = createContracts();
// encode() needs no broker: the client is never connected.
const logger = pino({ level: 'silent' });
const producer = createProducer({
  kafka: createKafkaClient({ brokers: ['127.0.0.1:1'], clientId: 'unit', logger }),
  contracts,
  logger,
});
const bindings = {
  results: { topic: 'results', schema: 'CourierTaskTimeoutEvent' as const },
  notifications: { topic: 'notifications', schema: 'NotificationRequested' as const },
};
const now = new Date('2026-12-01T10:00:00Z');
const task = {
  taskId: 'task-1',
  holder: 'courier-a',
  courier: { courierId: 'courier-a', userId: 'user-a', level: 1, zoneCode: 'BJ-PKU-5F' },
  letterCode: 'PK5F3D0001',
  opCode: 'PK5F3D',
  acceptedAt: new Date('2026-11-29T10:00:00Z'),
  timeoutCount: 0,
};

function notices(outcome: CheckOutcome): NotificationRequested[] {
  return checkMessages(producer, bindings, { executionId: 'e', timeoutHours: 48, now }, outcome)
    .flatMap((batch) => batch.messages.map((m) => ({ topic: batch.topic, value: m.value })))
    .filter((m) => m.topic === 'notifications')
    .map((m) => contracts.codec('NotificationRequested').decode(m.value as Buffer));
}

describe('courier check messages', () => {
  it('never carry the full letter code, and key each reminder on the assignment and its count', () => {
    const reminded = notices({
      kind: 'reminded',
      task,
      deadline: new Date('2026-12-01T10:00:00Z'),
      timeoutCount: 1,
      nextCheckAt: new Date('2026-12-03T10:00:00Z'),
    });
    expect(reminded).toHaveLength(1);
    expect(reminded[0]).toMatchObject({
      type: 'courier_timeout_reminder',
      user_id: 'user-a',
      data: { letter_code: '****0001', timeout_hours: '48' },
      dedupe_key: `courier_timeout_reminder:task-1:${task.acceptedAt.getTime()}:1`,
    });
    expect(JSON.stringify(reminded)).not.toContain('PK5F3D0001');
  });

  it('tell both couriers of a reassignment and only a manager (never "admin") of an escalation', () => {
    const to = { courierId: 'courier-b', userId: 'user-b', level: 1, zoneCode: 'BJ-PKU-5F' };
    const reassigned = notices({
      kind: 'reassigned',
      task,
      to,
      reason: 'timeout: 2 reminders without delivery',
      acceptedAt: now,
      nextCheckAt: new Date('2026-12-03T10:00:00Z'),
    });
    expect(reassigned.map((n) => [n.user_id, n.data.role])).toEqual([
      ['user-a', 'previous'],
      ['user-b', 'new'],
    ]);
    const escalate = (manager: typeof to | null) =>
      notices({ kind: 'escalated', task, manager, zoneCode: 'BJ-PKU-5F', reason: 'none', nextCheckAt: now });
    expect(escalate({ ...to, userId: 'user-m', level: 2 }).map((n) => [n.type, n.user_id])).toEqual([
      ['task_reassignment_needed', 'user-m'],
    ]);
    expect(escalate(null)).toEqual([]);
  });
});
