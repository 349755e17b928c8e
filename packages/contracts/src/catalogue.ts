import { SchedulerError } from '@openpenpal/errors';
import type { SchemaName, SchemaTypes, TaskType } from './generated/types.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface TopicSpec {
  name: string;
  /** What the message key holds; per-key order is kept, so this is the unit of ordering. */
  key: string;
  valueSchema: SchemaName;
  partitions: number;
  /** `-1` keeps messages forever. */
  retentionMs: number;
  cleanupPolicy: 'delete' | 'compact';
  producers: readonly string[];
  consumers: readonly string[];
  /**
   * The one service that creates the topic (with its `.dlq`) at start, under its catalogue name;
   * every other user waits for it to exist. Request topics belong to the service that takes the
   * requests, event topics to the one that writes them; `topics:provision` creates them all.
   */
  owner: string;
  description: string;
}

/** The task types that have a trigger topic, in the order of the domain's task catalogue. */
export const TASK_TYPES = [
  'future_letter_unlock',
  'ai_penpal_reply',
  'courier_timeout_check',
  'letter_cleanup',
  'writing_inspiration_push',
  'envelope_contest_close',
  'feature_switch',
  'notification_cleanup',
  'daily_report',
  'weekly_analytics',
] as const satisfies readonly TaskType[];

/** `scheduler.trigger.future-letter-unlock` for `future_letter_unlock`. */
export function triggerTopicName(taskType: TaskType): string {
  return `scheduler.trigger.${taskType.replaceAll('_', '-')}`;
}

const triggerTopics: TopicSpec[] = TASK_TYPES.map((taskType) => ({
  name: triggerTopicName(taskType),
  key: 'task_id; business_key for per-item triggers and their retries',
  valueSchema: 'TaskTrigger',
  partitions: 6,
  retentionMs: 7 * DAY_MS,
  cleanupPolicy: 'delete',
  producers: ['ticker', 'delay-queue', 'api (run now and replay)'],
  consumers: [`handler-${taskType.replaceAll('_', '-')}`],
  owner: 'ticker',
  description: `Triggers of ${taskType} executions: one message per execution attempt.`,
}));

/** Every topic of the system. Provisioning, the codecs and docs/topics.md all read this list. */
export const TOPICS: readonly TopicSpec[] = [
  {
    name: 'scheduler.task-definitions',
    key: 'task_id',
    valueSchema: 'TaskDefinition',
    partitions: 6,
    retentionMs: -1,
    cleanupPolicy: 'compact',
    producers: ['recorder (definition relay)'],
    consumers: ['ticker'],
    owner: 'ticker',
    description:
      'Current definition of every task; a null value (tombstone) deletes it. Rebuilt from the event store.',
  },
  {
    name: 'scheduler.task-commands',
    key: 'task_id, or "*" for global commands',
    valueSchema: 'TaskCommand',
    partitions: 3,
    retentionMs: 7 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['api', 'recorder (relayed run requests)'],
    consumers: ['ticker'],
    owner: 'ticker',
    description: 'Pause, resume and run-now commands.',
  },
  ...triggerTopics,
  {
    name: 'scheduler.delay-requests',
    key: 'message_id',
    valueSchema: 'DelayRequest',
    partitions: 6,
    retentionMs: 7 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['handlers', 'api', 'ticker', 'other OpenPenPal services'],
    consumers: ['delay-queue'],
    owner: 'delay-queue',
    description: 'Schedule and cancel requests for exact-time delayed messages.',
  },
  {
    name: 'scheduler.delay-events',
    key: 'message_id',
    valueSchema: 'DelayedMessageEvent',
    partitions: 6,
    retentionMs: 30 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['delay-queue'],
    consumers: ['recorder'],
    owner: 'delay-queue',
    description: 'What happened to each delayed message: scheduled, dispatched, cancelled, rejected.',
  },
  {
    name: 'scheduler.execution-events',
    key: 'execution_id',
    valueSchema: 'ExecutionEvent',
    partitions: 6,
    retentionMs: 30 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['ticker', 'handlers'],
    consumers: ['recorder'],
    owner: 'ticker',
    description:
      'Execution lifecycle: triggered, started, succeeded, failed, retry scheduled, dead-lettered, skipped, missed.',
  },
  {
    name: 'scheduler.notifications.requested',
    key: 'notification_id',
    valueSchema: 'NotificationRequested',
    partitions: 6,
    retentionMs: 7 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['handlers', 'recorder (task_failed_alert)'],
    consumers: ['notifier'],
    owner: 'notifier',
    description: 'A notification to deliver to one user over their channels.',
  },
  {
    name: 'scheduler.notifications.events',
    key: 'notification_id',
    valueSchema: 'NotificationEvent',
    partitions: 6,
    retentionMs: 30 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['notifier'],
    consumers: ['recorder'],
    owner: 'notifier',
    description: 'Delivery outcome of each notification per channel.',
  },
  {
    name: 'openpenpal.letters.future-letter-released',
    key: 'letterId',
    valueSchema: 'FutureLetterReleased',
    partitions: 6,
    retentionMs: 30 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['handler-future-letter-unlock'],
    consumers: ['other OpenPenPal services'],
    owner: 'handler-future-letter-unlock',
    description: 'A future letter was unlocked (status scheduled -> published).',
  },
  {
    name: 'openpenpal.ai.reply-delivered',
    key: 'userId',
    valueSchema: 'AiReplyDelivered',
    partitions: 6,
    retentionMs: 30 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['handler-ai-penpal-reply'],
    consumers: ['other OpenPenPal services'],
    owner: 'handler-ai-penpal-reply',
    description: 'An AI pen-pal reply letter was written and delivered.',
  },
  {
    name: 'openpenpal.courier.task-timeouts',
    key: 'taskId',
    valueSchema: 'CourierTaskTimeoutEvent',
    partitions: 6,
    retentionMs: 30 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['handler-courier-timeout-check'],
    consumers: ['other OpenPenPal services'],
    owner: 'handler-courier-timeout-check',
    description: 'A courier task timed out, was reassigned, or was escalated to a zone manager.',
  },
  {
    name: 'openpenpal.letters.cleanup',
    key: 'letterId',
    valueSchema: 'LetterMovedToCleanup',
    partitions: 6,
    retentionMs: 30 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['handler-letter-cleanup'],
    consumers: ['other OpenPenPal services'],
    owner: 'handler-letter-cleanup',
    description: 'An unbound letter moved to the cleanup area.',
  },
  {
    name: 'openpenpal.scheduler.inbound-rejections',
    key: "subjectId (the refused event's business id)",
    valueSchema: 'InboundEventRejected',
    partitions: 6,
    retentionMs: 30 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['handler-future-letter-unlock', 'handler-ai-penpal-reply', 'handler-courier-timeout-check'],
    consumers: ['other OpenPenPal services'],
    owner: 'handler-future-letter-unlock',
    description: 'Inbound events the scheduler refused, with the reason.',
  },
  {
    name: 'openpenpal.letters.future-letters',
    key: 'letterId',
    valueSchema: 'FutureLetterEvent',
    partitions: 6,
    retentionMs: 7 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['OpenPenPal letter service', 'api'],
    consumers: ['handler-future-letter-unlock'],
    owner: 'handler-future-letter-unlock',
    description: 'Inbound: a future letter was scheduled or cancelled.',
  },
  {
    name: 'openpenpal.ai.reply-requests',
    key: "userId (one user's requests stay in order, so quota and cooldown checks cannot race)",
    valueSchema: 'AiReplyRequested',
    partitions: 6,
    retentionMs: 7 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['OpenPenPal AI service', 'api'],
    consumers: ['handler-ai-penpal-reply'],
    owner: 'handler-ai-penpal-reply',
    description: 'Inbound: a user asked an AI persona for a reply after a delay.',
  },
  {
    name: 'openpenpal.courier.task-events',
    key: 'taskId',
    valueSchema: 'CourierTaskEvent',
    partitions: 6,
    retentionMs: 7 * DAY_MS,
    cleanupPolicy: 'delete',
    producers: ['OpenPenPal courier service', 'api'],
    consumers: ['handler-courier-timeout-check'],
    owner: 'handler-courier-timeout-check',
    description: 'Inbound: a courier task was accepted, delivered or failed.',
  },
];

/** Dead-letter topics hold the original bytes and headers of messages a consumer gave up on. */
export const DLQ_SUFFIX = '.dlq';
export const DLQ_RETENTION_MS = 30 * DAY_MS;

export function dlqTopicName(topic: string): string {
  return `${topic}${DLQ_SUFFIX}`;
}

const byName = new Map(TOPICS.map((t) => [t.name, t]));

export function findTopic(name: string): TopicSpec | undefined {
  return byName.get(name);
}

export function topicSpec(name: string): TopicSpec {
  const spec = byName.get(name);
  if (!spec)
    throw new SchedulerError('UNKNOWN_TOPIC', `topic ${name} is not in the catalogue`, {
      details: { topic: name },
    });
  return spec;
}

/** The value type of a root schema, for typed producers: `ValueOf<'TaskTrigger'>`. */
export type ValueOf<S extends SchemaName> = SchemaTypes[S];
