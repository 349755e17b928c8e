import { randomUUID } from 'node:crypto';
import type {
  AiReplyRequested,
  CourierTaskEvent,
  DelayRequest,
  FutureLetterEvent,
  NotificationRequested,
  SchemaName,
  TaskTrigger,
  TaskType,
  TopicSpec,
} from '@openpenpal/contracts';
import { sampleDefinition, sampleTrigger } from '@openpenpal/contracts/samples';
import type { NonsenseFactory, SampleValues } from './topic-fuzz.ts';

/** Year 1970 and year 275760: valid longs, no sane schedule. */
const EPOCH = 0;
const FAR = 8.64e15;

/** Valid values of two schemas, sent where the other schemas belong. */
export const FUZZ_SAMPLES: SampleValues = {
  TaskTrigger: sampleTrigger({ task_id: 'fuzz-wrong-schema' }),
  TaskDefinition: sampleDefinition({ task_id: 'fuzz-wrong-schema' }),
};

type Item<T> = { what: string; key: string; value: T };

function triggers(spec: TopicSpec): Item<TaskTrigger>[] {
  const taskType = spec.name.slice('scheduler.trigger.'.length).replaceAll('-', '_') as TaskType;
  const other: TaskType = taskType === 'letter_cleanup' ? 'ai_penpal_reply' : 'letter_cleanup';
  const id = `fuzz-${randomUUID()}`;
  return [
    {
      what: 'a trigger of another task type',
      key: id,
      value: sampleTrigger({ task_id: id, task_type: other }),
    },
    {
      what: 'a trigger whose payload is not JSON',
      key: id,
      value: sampleTrigger({ task_id: id, task_type: taskType, payload: '{not json' }),
    },
    {
      what: 'a trigger at attempt 0 with a negative timeout',
      key: id,
      value: sampleTrigger({ task_id: id, task_type: taskType, attempt: 0, timeout_secs: -5 }),
    },
    {
      what: 'a trigger with a nominal time in year 275760',
      key: id,
      value: sampleTrigger({ task_id: id, task_type: taskType, nominal_time: FAR, fire_time: FAR }),
    },
  ];
}

function delayRequests(): Item<DelayRequest>[] {
  const schedule = (messageId: string, overrides: Partial<Record<string, unknown>>): DelayRequest => ({
    request_id: randomUUID(),
    requested_at: Date.now(),
    source: 'e2e-fuzz',
    event: {
      'org.openpenpal.scheduler.ScheduleDelayedMessage': {
        message_id: messageId,
        due_at: Date.now() + 60_000,
        target_topic: 'scheduler.trigger.letter-cleanup',
        target_key: null,
        headers: {},
        payload: Buffer.from([0xc3, 0x01, 0, 0]),
        if_pending: null,
        ...overrides,
      },
    },
  });
  return [
    { what: 'an empty message id', key: '', value: schedule('', {}) },
    {
      what: 'an uncatalogued target topic',
      key: 'fuzz-a',
      value: schedule('fuzz-a', { target_topic: '__consumer_offsets' }),
    },
    { what: 'a due time in year 275760', key: 'fuzz-b', value: schedule('fuzz-b', { due_at: FAR }) },
    {
      what: 'a payload of 200 KiB',
      key: 'fuzz-c',
      value: schedule('fuzz-c', { payload: Buffer.alloc(200 * 1024) }),
    },
  ];
}

function futureLetters(): Item<FutureLetterEvent>[] {
  const letterId = `fuzz-letter-${randomUUID()}`;
  return [
    {
      what: 'a future letter that does not exist',
      key: letterId,
      value: {
        eventId: randomUUID(),
        occurredAt: Date.now(),
        event: {
          'org.openpenpal.platform.FutureLetterScheduled': {
            letterId,
            scheduledAt: Date.now(),
            timezone: null,
          },
        },
      },
    },
    {
      what: 'a future letter scheduled in 1970 with a made-up zone',
      key: letterId,
      value: {
        eventId: 'not-a-uuid',
        occurredAt: EPOCH,
        event: {
          'org.openpenpal.platform.FutureLetterScheduled': {
            letterId: '',
            scheduledAt: EPOCH,
            timezone: 'Mars/Olympus',
          },
        },
      },
    },
  ];
}

function aiReplies(): Item<AiReplyRequested>[] {
  const userId = `fuzz-user-${randomUUID()}`;
  return [
    {
      what: 'a reply for a letter and user that do not exist, in a made-up zone, 9,999 hours later',
      key: userId,
      value: {
        eventId: randomUUID(),
        letterId: `fuzz-${randomUUID()}`,
        userId,
        persona: 'poet',
        timezone: 'Nowhere/Land',
        requestedAt: FAR,
        delay: { 'org.openpenpal.platform.AiReplyDelayHours': { delayHours: 9_999 } },
      },
    },
  ];
}

function courierTasks(): Item<CourierTaskEvent>[] {
  const taskId = `fuzz-courier-${randomUUID()}`;
  return [
    {
      what: 'a courier task that does not exist, accepted in year 275760',
      key: taskId,
      value: {
        eventId: randomUUID(),
        occurredAt: Date.now(),
        event: { 'org.openpenpal.platform.CourierTaskAccepted': { taskId, courierId: '', acceptedAt: FAR } },
      },
    },
  ];
}

function notifications(): Item<NotificationRequested>[] {
  const id = randomUUID();
  return [
    {
      what: 'a notification for a user that does not exist, with an empty dedupe key, not before year 275760',
      key: id,
      value: {
        notification_id: id,
        type: 'task_failed_alert',
        user_id: `fuzz-user-${randomUUID()}`,
        channels: [],
        priority: 'normal',
        data: {},
        locale: 'xx-NOPE',
        execution_id: null,
        dedupe_key: '',
        requested_at: Date.now(),
        not_before: FAR,
      },
    },
  ];
}

const BY_SCHEMA: Partial<Record<SchemaName, () => { what: string; key: string; value: unknown }[]>> = {
  DelayRequest: delayRequests,
  FutureLetterEvent: futureLetters,
  AiReplyRequested: aiReplies,
  CourierTaskEvent: courierTasks,
  NotificationRequested: notifications,
};

/** Schema-valid nonsense for the inbound topics whose schemas have fields worth abusing. */
export const fuzzNonsense: NonsenseFactory = (spec) => {
  if (spec.name.startsWith('scheduler.trigger.')) return triggers(spec);
  return BY_SCHEMA[spec.valueSchema]?.() ?? [];
};
