// Hand-written values of every root schema, one per event variant where a field is a union of
// records. They are typed by the generated types, so a schema change that breaks them fails the
// typecheck, and schemas.unit.test.ts round-trips each through the codec. docs/topics.md points
// here for examples. The story they tell: a New Year's Eve future letter in Shanghai, a Christmas
// letter in Berlin, an AI pen-pal reply that fails once, and a courier task that runs late.
import {
  createContracts,
  type ExecutionEvent,
  type SchemaName,
  type SchemaTypes,
  type TaskTrigger,
} from '../src/index.ts';

/** An instant written with its zone offset, as epoch milliseconds (what the schemas carry). */
const at = (iso: string): number => Date.parse(iso);
const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

const LETTER = 'ltr_9f3a2c71'; // New Year's Eve letter, written in Shanghai
const BERLIN_LETTER = 'ltr_b20e4411'; // Christmas letter, written in Berlin
const WRITER = 'u_20481';
const RECIPIENT = 'u_31877';
const ADMIN = 'u_10007';
const AI_REPLY = 'air_51093';
const COURIER_TASK = 'ct_774120';
const COURIER = 'u_88213';
const NEW_COURIER = 'u_88240';
const ZONE_MANAGER = 'u_80012';
const RELEASE_AT = at('2026-12-31T20:00:00+08:00');

// Execution ids are UUID v5 (derived from task id and nominal time, or from the business key).
const RELEASE_EXECUTION = '6f1c2a8e-3b4d-5e6f-8a9b-0c1d2e3f4a5b';
const SWEEP_EXECUTION = '0d9e8f7a-6b5c-5d4e-9f3a-2b1c0d9e8f7a';
const AI_EXECUTION = 'a3c5e7f9-1b2d-5f4a-8c6e-9d0b1a2c3e4f';
const COURIER_EXECUTION = '5b6c7d8e-9f0a-5b1c-a2d3-e4f5a6b7c8d9';
const CLEANUP_EXECUTION = 'c2d4e6f8-0a1b-5c3d-b4e5-f6a7b8c9d0e1'; // dead-lettered on 17 December
const CLEANUP_OK_EXECUTION = 'd3e5f7a9-1b2c-5d4e-8f6a-7b8c9d0e1f2a'; // the next night's run
const REPORT_EXECUTION = '9e8d7c6b-5a4f-5e3d-8c2b-1a0f9e8d7c6b';
const COURIER_OVERRIDE = JSON.stringify({ timeout_hours: 24, reassign_after_reminders: 2 });

const releaseTrigger: TaskTrigger = {
  execution_id: RELEASE_EXECUTION,
  task_id: 'future-letter-unlock',
  task_type: 'future_letter_unlock',
  task_name: 'Future Letter Auto-unlock',
  timezone: 'Asia/Shanghai',
  nominal_time: RELEASE_AT,
  fire_time: RELEASE_AT,
  attempt: 1,
  max_retries: 3,
  timeout_secs: 300,
  payload: JSON.stringify({ letterId: LETTER }),
  source: 'delayed',
  fencing_token: 0,
  original_execution_id: null,
  business_key: LETTER,
};

// The delay queue publishes these payloads byte for byte, so they are already single-object encoded.
const triggerCodec = createContracts().codec('TaskTrigger');
const releasePayload = triggerCodec.encode(releaseTrigger);
// The writer first picked 18:00 for the release, then moved it to 20:00 (a replace).
const FIRST_RELEASE_AT = at('2026-12-31T18:00:00+08:00');
const firstReleasePayload = triggerCodec.encode({
  ...releaseTrigger,
  nominal_time: FIRST_RELEASE_AT,
  fire_time: FIRST_RELEASE_AT,
});
const RETRY_AT = at('2026-12-02T08:01:30.004+08:00');

// The second attempt of an AI reply whose provider timed out: same execution id, attempt + 1.
const aiRetryTrigger: TaskTrigger = {
  execution_id: AI_EXECUTION,
  task_id: 'ai-penpal-reply',
  task_type: 'ai_penpal_reply',
  task_name: 'AI Penpal Scheduled Replies',
  timezone: 'Asia/Shanghai',
  nominal_time: at('2026-12-02T08:00:00+08:00'),
  fire_time: at('2026-12-02T08:01:30.118+08:00'),
  attempt: 2,
  max_retries: 3,
  timeout_secs: 900,
  payload: JSON.stringify({ aiReplyId: AI_REPLY }),
  source: 'retry',
  fencing_token: 0,
  original_execution_id: null,
  business_key: AI_REPLY,
};

const TRIGGERS: TaskTrigger[] = [
  releaseTrigger,
  {
    // The ten-minute safety-net sweep, fired by the ticker leader (hence the fencing token).
    ...releaseTrigger,
    execution_id: SWEEP_EXECUTION,
    nominal_time: at('2026-12-31T20:10:00+08:00'),
    fire_time: at('2026-12-31T20:10:00.042+08:00'),
    payload: '{}',
    source: 'cron',
    fencing_token: 17,
    business_key: null,
  },
  aiRetryTrigger,
  {
    // An operator replayed last night's daily report: a new execution naming the original.
    execution_id: 'f0e1d2c3-b4a5-5968-8776-655443322110',
    task_id: 'daily-report',
    task_type: 'daily_report',
    task_name: 'Daily Report',
    timezone: 'Asia/Shanghai',
    nominal_time: at('2026-12-20T01:00:00+08:00'),
    fire_time: at('2026-12-20T10:42:07.510+08:00'),
    attempt: 1,
    max_retries: 3,
    timeout_secs: 1800,
    payload: '{}',
    source: 'replay',
    fencing_token: 0,
    original_execution_id: REPORT_EXECUTION,
    business_key: null,
  },
  {
    execution_id: COURIER_EXECUTION,
    task_id: 'courier-timeout-check',
    task_type: 'courier_timeout_check',
    task_name: 'Courier Timeout Reminder',
    timezone: 'Asia/Shanghai',
    nominal_time: at('2026-12-05T14:30:00+08:00'),
    fire_time: at('2026-12-05T14:30:00.731+08:00'),
    attempt: 1,
    max_retries: 3,
    timeout_secs: 600,
    payload: COURIER_OVERRIDE,
    source: 'run_now',
    fencing_token: 0,
    original_execution_id: null,
    business_key: null,
  },
];

const execution = (
  fields: Pick<ExecutionEvent, 'event_id' | 'occurred_at' | 'event'>,
  of: Pick<ExecutionEvent, 'execution_id' | 'task_id' | 'task_type'> = {
    execution_id: AI_EXECUTION,
    task_id: 'ai-penpal-reply',
    task_type: 'ai_penpal_reply',
  },
): ExecutionEvent => ({
  ...of,
  worker: `handler-${of.task_type.replaceAll('_', '-')}-6d8f9c7b5-x2k4q/1`,
  ...fields,
});

const releaseExecution = {
  execution_id: RELEASE_EXECUTION,
  task_id: 'future-letter-unlock',
  task_type: 'future_letter_unlock',
} as const;

export const SAMPLES: { [S in SchemaName]: SchemaTypes[S][] } = {
  TaskDefinition: [
    {
      task_id: 'future-letter-unlock',
      name: 'Future Letter Auto-unlock',
      description: 'Safety-net sweep for scheduled letters; each letter also has an exact-time release.',
      task_type: 'future_letter_unlock',
      priority: 'high',
      cron_expression: '*/10 * * * *',
      timezone: 'Asia/Shanghai',
      scheduled_at: null,
      payload: '{}',
      max_retries: 3,
      timeout_secs: 300,
      is_active: true,
      start_date: null,
      end_date: null,
      max_runs: null,
      misfire_policy: 'fire_once',
      misfire_grace_ms: 60_000,
      misfire_fire_all_cap: 10,
      concurrency_policy: 'forbid',
      revision: 0,
      created_by: 'scheduler-seed',
      created_at: at('2026-11-30T00:00:00+08:00'),
      updated_at: at('2026-11-30T00:00:00+08:00'),
    },
    {
      task_id: 'courier-timeout-check',
      name: 'Courier Timeout Reminder',
      description: null,
      task_type: 'courier_timeout_check',
      priority: 'high',
      cron_expression: '0 * * * *',
      timezone: 'Asia/Shanghai',
      scheduled_at: null,
      payload: JSON.stringify({ timeout_hours: 48, reassign_after_reminders: 2 }),
      max_retries: 3,
      timeout_secs: 600,
      is_active: true,
      start_date: null,
      end_date: null,
      max_runs: null,
      misfire_policy: 'fire_once',
      misfire_grace_ms: 60_000,
      misfire_fire_all_cap: 10,
      concurrency_policy: 'forbid',
      revision: 4,
      created_by: 'scheduler-seed',
      created_at: at('2026-11-30T00:00:00+08:00'),
      updated_at: at('2026-12-03T16:20:11+08:00'),
    },
    {
      // A one-shot feature switch set by an admin in Berlin: scheduled_at instead of a cron.
      task_id: 'christmas-envelopes-on',
      name: 'Switch on the Christmas envelope designs',
      description: 'Turns on feature module envelope_designs_xmas for the European campuses.',
      task_type: 'feature_switch',
      priority: 'normal',
      cron_expression: null,
      timezone: 'Europe/Berlin',
      scheduled_at: at('2026-12-20T00:00:00+01:00'),
      payload: JSON.stringify({ module: 'envelope_designs_xmas', enabled: true }),
      max_retries: 3,
      timeout_secs: 60,
      is_active: true,
      start_date: null,
      end_date: null,
      max_runs: 1,
      misfire_policy: 'fire_once',
      misfire_grace_ms: 300_000,
      misfire_fire_all_cap: 1,
      concurrency_policy: 'forbid',
      revision: 2,
      created_by: ADMIN,
      created_at: at('2026-12-10T09:12:45+01:00'),
      updated_at: at('2026-12-11T14:03:02+01:00'),
    },
    {
      // Disabled, bounded, and catching up every missed Monday when re-enabled.
      task_id: 'weekly-analytics',
      name: 'Weekly Analytics',
      description: 'Letters, replies and deliveries per campus for the past week.',
      task_type: 'weekly_analytics',
      priority: 'low',
      cron_expression: '0 4 * * 1',
      timezone: 'Asia/Shanghai',
      scheduled_at: null,
      payload: JSON.stringify({ campuses: ['PKU', 'THU'] }),
      max_retries: 1,
      timeout_secs: 3600,
      is_active: false,
      start_date: at('2026-12-01T00:00:00+08:00'),
      end_date: at('2027-06-30T23:59:59+08:00'),
      max_runs: null,
      misfire_policy: 'fire_all',
      misfire_grace_ms: 600_000,
      misfire_fire_all_cap: 4,
      concurrency_policy: 'allow',
      revision: 7,
      created_by: ADMIN,
      created_at: at('2026-11-30T00:00:00+08:00'),
      updated_at: at('2026-12-14T11:30:00+08:00'),
    },
  ],

  TaskCommand: [
    {
      command_id: '3e7a1c55-0f2b-4d8e-9a61-b4c2d7e8f903',
      command: 'pause',
      task_id: null,
      requested_by: ADMIN,
      requested_at: at('2026-12-12T02:00:00+08:00'),
      reason: 'Kafka broker upgrade, maintenance window 02:00-02:30',
      payload_override: null,
    },
    {
      command_id: '8b0d2f4a-6c1e-4a3b-8d5f-7e9a0b1c2d3e',
      command: 'resume',
      task_id: null,
      requested_by: ADMIN,
      requested_at: at('2026-12-12T02:27:40+08:00'),
      reason: null,
      payload_override: null,
    },
    {
      command_id: 'd41c7b2e-9a3f-4e5d-b6c8-0f1a2b3c4d5e',
      command: 'run_now',
      task_id: 'courier-timeout-check',
      requested_by: ADMIN,
      requested_at: at('2026-12-05T14:30:00+08:00'),
      reason: 'Campus post office asked for a 24-hour check before the winter break',
      payload_override: COURIER_OVERRIDE,
    },
  ],

  TaskTrigger: TRIGGERS,

  DelayRequest: [
    {
      // The letter is first scheduled for 18:00; a redelivered copy of this request keeps it.
      request_id: '0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f',
      requested_at: at('2026-11-28T21:30:11.902+08:00'),
      source: 'handler-future-letter-unlock',
      event: {
        'org.openpenpal.scheduler.ScheduleDelayedMessage': {
          message_id: `future_letter_unlock:${LETTER}`,
          due_at: FIRST_RELEASE_AT,
          target_topic: 'scheduler.trigger.future-letter-unlock',
          target_key: 'future-letter-unlock',
          headers: {
            schema: utf8('TaskTrigger'),
            traceparent: utf8('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
          },
          payload: firstReleasePayload,
          if_pending: 'keep',
        },
      },
    },
    {
      // The writer moved the release to 20:00: the pending message takes the new time and payload.
      request_id: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      requested_at: at('2026-12-01T10:15:02.250+08:00'),
      source: 'handler-future-letter-unlock',
      event: {
        'org.openpenpal.scheduler.ScheduleDelayedMessage': {
          message_id: `future_letter_unlock:${LETTER}`,
          due_at: RELEASE_AT,
          target_topic: 'scheduler.trigger.future-letter-unlock',
          target_key: 'future-letter-unlock',
          headers: {
            'message-id': utf8('7d3f9b1e-2c4a-4e6b-9d8f-1a3c5e7b9d0f'),
            schema: utf8('TaskTrigger'),
            traceparent: utf8('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'),
          },
          payload: releasePayload,
          if_pending: 'replace',
        },
      },
    },
    {
      // A retry of the AI reply, written by a v1 producer: no if_pending, which reads as keep.
      request_id: '3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a',
      requested_at: at('2026-12-02T08:00:15.004+08:00'),
      source: 'handler-ai-penpal-reply',
      event: {
        'org.openpenpal.scheduler.ScheduleDelayedMessage': {
          message_id: `retry:${AI_EXECUTION}:2`,
          due_at: RETRY_AT,
          target_topic: 'scheduler.trigger.ai-penpal-reply',
          target_key: 'ai-penpal-reply',
          headers: { schema: utf8('TaskTrigger') },
          payload: triggerCodec.encode(aiRetryTrigger),
          if_pending: null,
        },
      },
    },
    {
      request_id: '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
      requested_at: at('2026-12-08T09:41:18.004+08:00'),
      source: 'handler-courier-timeout-check',
      event: {
        'org.openpenpal.scheduler.CancelDelayedMessage': {
          message_id: `courier_timeout_check:${COURIER_TASK}`,
          reason: 'courier task delivered',
        },
      },
    },
  ],

  DelayedMessageEvent: [
    {
      event_id: '3e4d5c6b-7a89-4b0c-9d1e-2f3a4b5c6d7e',
      message_id: `future_letter_unlock:${LETTER}`,
      request_id: '0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f',
      occurred_at: at('2026-11-28T21:30:11.950+08:00'),
      event: {
        'org.openpenpal.scheduler.DelayedMessageScheduled': {
          due_at: FIRST_RELEASE_AT,
          target_topic: 'scheduler.trigger.future-letter-unlock',
          schedule_outcome: 'scheduled',
        },
      },
    },
    {
      event_id: '4f5e6d7c-8b9a-4c0d-a1e2-f3a4b5c6d7e8',
      message_id: `future_letter_unlock:${LETTER}`,
      request_id: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      occurred_at: at('2026-12-01T10:15:02.301+08:00'),
      event: {
        'org.openpenpal.scheduler.DelayedMessageScheduled': {
          due_at: RELEASE_AT,
          target_topic: 'scheduler.trigger.future-letter-unlock',
          schedule_outcome: 'rescheduled',
        },
      },
    },
    {
      // The retry request was delivered twice; the second copy changed nothing.
      event_id: '8d9e0f1a-2b3c-4d4e-a5f6-a7b8c9d0e1f2',
      message_id: `retry:${AI_EXECUTION}:2`,
      request_id: '3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a',
      occurred_at: at('2026-12-02T08:00:15.388+08:00'),
      event: {
        'org.openpenpal.scheduler.DelayedMessageScheduled': {
          due_at: RETRY_AT,
          target_topic: 'scheduler.trigger.ai-penpal-reply',
          schedule_outcome: 'duplicate',
        },
      },
    },
    {
      event_id: '5a6b7c8d-9e0f-4a1b-b2c3-d4e5f6a7b8c9',
      message_id: `future_letter_unlock:${LETTER}`,
      request_id: null,
      occurred_at: at('2026-12-31T20:00:00.087+08:00'),
      event: {
        'org.openpenpal.scheduler.DelayedMessageDispatched': {
          due_at: RELEASE_AT,
          dispatched_at: at('2026-12-31T20:00:00.087+08:00'),
          lateness_ms: 87,
          target_topic: 'scheduler.trigger.future-letter-unlock',
          redelivered: false,
        },
      },
    },
    {
      // The handler's schedule request was consumed again after the release: nothing is scheduled.
      event_id: '9e0f1a2b-3c4d-4e5f-86a7-b8c9d0e1f2a3',
      message_id: `future_letter_unlock:${LETTER}`,
      request_id: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      occurred_at: at('2026-12-31T20:00:04.612+08:00'),
      event: {
        'org.openpenpal.scheduler.DelayedMessageScheduled': {
          due_at: RELEASE_AT,
          target_topic: 'scheduler.trigger.future-letter-unlock',
          schedule_outcome: 'already_fired',
        },
      },
    },
    {
      event_id: '6b7c8d9e-0f1a-4b2c-83d4-e5f6a7b8c9d0',
      message_id: `courier_timeout_check:${COURIER_TASK}`,
      request_id: '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
      occurred_at: at('2026-12-08T09:41:18.020+08:00'),
      event: {
        'org.openpenpal.scheduler.DelayedMessageCancelled': {
          cancel_outcome: 'cancelled',
          reason: 'courier task delivered',
        },
      },
    },
    {
      // The cancel met the publish under way: it may still land (DelayedMessageEvent v2).
      event_id: '5a6b7c8d-9e0f-4a1b-82c3-d4e5f6a7b8c9',
      message_id: `courier_timeout_check:${COURIER_TASK}-2`,
      request_id: '4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a',
      occurred_at: at('2026-12-08T09:41:18.520+08:00'),
      event: {
        'org.openpenpal.scheduler.DelayedMessageCancelled': {
          cancel_outcome: 'in_flight',
          reason: 'courier task delivered',
        },
      },
    },
    {
      event_id: '7c8d9e0f-1a2b-4c3d-94e5-f6a7b8c9d0e1',
      message_id: 'ai_penpal_reply:air_51107',
      request_id: '3c4d5e6f-7a8b-4c9d-8e0f-2a3b4c5d6e7f',
      occurred_at: at('2026-12-02T11:05:40.512+08:00'),
      event: {
        'org.openpenpal.scheduler.DelayedMessageRejected': {
          error_code: 'UNKNOWN_TOPIC',
          reason: 'target_topic scheduler.trigger.ai-reply is not in the topic catalogue',
        },
      },
    },
  ],

  ExecutionEvent: [
    execution(
      {
        event_id: 'e1000001-0000-4000-8000-000000000001',
        occurred_at: RELEASE_AT + 87,
        event: {
          'org.openpenpal.scheduler.TaskTriggered': {
            nominal_time: RELEASE_AT,
            fire_time: RELEASE_AT + 87,
            attempt: 1,
            source: 'delayed',
            fencing_token: 0,
            trigger_topic: 'scheduler.trigger.future-letter-unlock',
            original_execution_id: null,
            business_key: LETTER,
          },
        },
      },
      releaseExecution,
    ),
    execution(
      {
        event_id: 'e1000001-0000-4000-8000-000000000002',
        occurred_at: RELEASE_AT + 95,
        event: { 'org.openpenpal.scheduler.ExecutionStarted': { attempt: 1, started_at: RELEASE_AT + 95 } },
      },
      releaseExecution,
    ),
    execution(
      {
        event_id: 'e1000001-0000-4000-8000-000000000003',
        occurred_at: RELEASE_AT + 412,
        event: {
          'org.openpenpal.scheduler.ExecutionSucceeded': {
            attempt: 1,
            succeeded_at: RELEASE_AT + 412,
            duration_ms: 317,
            result: JSON.stringify({ released: 1, notified: 1 }),
          },
        },
      },
      releaseExecution,
    ),
    execution({
      event_id: 'e2000002-0000-4000-8000-000000000001',
      occurred_at: at('2026-12-02T08:00:15.004+08:00'),
      event: {
        'org.openpenpal.scheduler.ExecutionFailed': {
          attempt: 1,
          failed_at: at('2026-12-02T08:00:15.004+08:00'),
          duration_ms: 15_001,
          error_code: 'TIMEOUT',
          error_message: 'AI provider did not answer within 15000 ms',
          retryable: true,
        },
      },
    }),
    execution({
      event_id: 'e2000002-0000-4000-8000-000000000002',
      occurred_at: at('2026-12-02T08:00:15.020+08:00'),
      event: {
        'org.openpenpal.scheduler.ExecutionRetryScheduled': {
          next_attempt: 2,
          retry_at: at('2026-12-02T08:01:30.004+08:00'),
          delay_ms: 75_000,
        },
      },
    }),
    execution(
      {
        event_id: 'e3000003-0000-4000-8000-000000000001',
        occurred_at: at('2026-12-17T03:31:02.770+08:00'),
        event: {
          'org.openpenpal.scheduler.ExecutionDeadLettered': {
            attempts: 4,
            error_code: 'DEPENDENCY_UNAVAILABLE',
            error_message: 'PostgreSQL connection refused (letters database)',
            dead_letter_topic: 'scheduler.trigger.letter-cleanup.dlq',
          },
        },
      },
      { execution_id: CLEANUP_EXECUTION, task_id: 'letter-cleanup', task_type: 'letter_cleanup' },
    ),
    execution(
      {
        event_id: 'e4000004-0000-4000-8000-000000000001',
        occurred_at: at('2026-12-24T18:00:00.250+01:00'),
        event: {
          'org.openpenpal.scheduler.ExecutionSkipped': {
            reason: 'cancelled',
            skipped_at: at('2026-12-24T18:00:00.250+01:00'),
            detail: `letter ${BERLIN_LETTER} is no longer scheduled (status draft)`,
          },
        },
      },
      { ...releaseExecution, execution_id: '1b2c3d4e-5f6a-5b7c-8d9e-0f1a2b3c4d5e' },
    ),
    {
      // No ticker leader was up at 01:00; the daily report's policy skips missed times.
      event_id: 'e5000005-0000-4000-8000-000000000001',
      execution_id: '2c3d4e5f-6a7b-5c8d-9e0f-1a2b3c4d5e6f',
      task_id: 'daily-report',
      task_type: 'daily_report',
      occurred_at: at('2026-12-12T01:04:12.310+08:00'),
      worker: 'ticker-1/1',
      event: {
        'org.openpenpal.scheduler.TaskMissed': {
          nominal_time: at('2026-12-12T01:00:00+08:00'),
          reason: 'downtime',
          policy: 'skip',
        },
      },
    },
  ],

  NotificationRequested: [
    {
      notification_id: '0c7e3a91-5d2f-5b8a-9e4c-6f1d2a3b4c5d',
      type: 'future_letter_unlocked',
      user_id: RECIPIENT,
      channels: [],
      priority: 'normal',
      data: { sender_nickname: '小雨', scheduled_date: '2026-12-31' },
      locale: null,
      execution_id: RELEASE_EXECUTION,
      dedupe_key: `future_letter_unlocked:${LETTER}:${RECIPIENT}`,
      requested_at: RELEASE_AT + 405,
      not_before: null,
    },
    {
      notification_id: '1d8f4b02-6e3a-5c9b-8f5d-7a2e3b4c5d6e',
      type: 'courier_timeout_reminder',
      user_id: COURIER,
      channels: ['in_app', 'email'],
      priority: 'high',
      data: { task_id: COURIER_TASK, deadline: '2026-12-04 14:00', reminder: '1' },
      locale: 'zh-CN',
      execution_id: COURIER_EXECUTION,
      dedupe_key: `courier_timeout_reminder:${COURIER_TASK}:1`,
      requested_at: at('2026-12-05T14:30:01.120+08:00'),
      not_before: null,
    },
    {
      notification_id: '2e9a5c13-7f4b-5d0c-9a6e-8b3f4c5d6e7f',
      type: 'daily_inspiration',
      user_id: 'u_40550',
      channels: ['in_app'],
      priority: 'low',
      data: { theme: '家的温度', prompt: 'Describe the smell of your family kitchen in winter.' },
      locale: 'en',
      execution_id: null,
      dedupe_key: 'daily_inspiration:u_40550:2026-12-21',
      requested_at: at('2026-12-21T19:55:00+01:00'),
      not_before: at('2026-12-21T20:00:00+01:00'),
    },
    {
      notification_id: '3f0b6d24-8a5c-5e1d-8b7f-9c4a5d6e7f80',
      type: 'task_failed_alert',
      user_id: ADMIN,
      channels: ['webhook'],
      priority: 'critical',
      data: {
        task_id: 'letter-cleanup',
        execution_id: CLEANUP_EXECUTION,
        error_code: 'DEPENDENCY_UNAVAILABLE',
      },
      locale: 'en',
      execution_id: CLEANUP_EXECUTION,
      dedupe_key: `task_failed_alert:${CLEANUP_EXECUTION}`,
      requested_at: at('2026-12-17T03:31:03.002+08:00'),
      not_before: null,
    },
  ],

  NotificationEvent: [
    {
      event_id: '8d9e0f1a-2b3c-4d4e-a5f6-a7b8c9d0e1f2',
      notification_id: '0c7e3a91-5d2f-5b8a-9e4c-6f1d2a3b4c5d',
      user_id: RECIPIENT,
      type: 'future_letter_unlocked',
      execution_id: RELEASE_EXECUTION,
      occurred_at: RELEASE_AT + 530,
      event: {
        'org.openpenpal.scheduler.NotificationDelivered': {
          channel: 'in_app',
          delivered_at: RELEASE_AT + 530,
          provider_message_id: null,
        },
      },
    },
    {
      event_id: '9e0f1a2b-3c4d-4e5f-86a7-b8c9d0e1f2a3',
      notification_id: '1d8f4b02-6e3a-5c9b-8f5d-7a2e3b4c5d6e',
      user_id: COURIER,
      type: 'courier_timeout_reminder',
      execution_id: COURIER_EXECUTION,
      occurred_at: at('2026-12-05T14:30:06.900+08:00'),
      event: {
        'org.openpenpal.scheduler.NotificationFailed': {
          channel: 'email',
          attempt: 1,
          error_code: 'PROVIDER_FAILED',
          error_message: 'SMTP 451 4.7.1 greylisted, try again later',
          will_retry: true,
        },
      },
    },
    {
      event_id: '0f1a2b3c-4d5e-4f6a-97b8-c9d0e1f2a3b4',
      // The cleanup runs at 03:00, inside the author's quiet hours (22:00-08:00).
      notification_id: '4a1c7e35-9b6d-5f2e-9c8a-0d5b6e7f8091',
      user_id: WRITER,
      type: 'letter_cleanup_notice',
      execution_id: CLEANUP_OK_EXECUTION,
      occurred_at: at('2026-12-18T03:00:05.100+08:00'),
      event: {
        'org.openpenpal.scheduler.NotificationDeferred': {
          until: at('2026-12-18T08:00:00+08:00'),
          reason: 'quiet_hours',
        },
      },
    },
  ],

  FutureLetterReleased: [
    {
      eventId: 'a1b2c3d4-e5f6-4a7b-8c9d-e0f1a2b3c4d5',
      letterId: LETTER,
      scheduledAt: RELEASE_AT,
      releasedAt: RELEASE_AT + 398,
      recipientId: RECIPIENT,
      ownerId: WRITER,
      executionId: RELEASE_EXECUTION,
    },
    {
      // A letter to one's future self has no recipient.
      eventId: 'b2c3d4e5-f6a7-4b8c-9d0e-f1a2b3c4d5e6',
      letterId: 'ltr_77c01d9e',
      scheduledAt: at('2027-01-01T00:00:00+01:00'),
      releasedAt: at('2027-01-01T00:00:00.512+01:00'),
      recipientId: null,
      ownerId: 'u_61302',
      executionId: '7a8b9c0d-1e2f-5a3b-8c4d-5e6f7a8b9c0d',
    },
  ],

  AiReplyDelivered: [
    {
      eventId: 'c3d4e5f6-a7b8-4c9d-8e0f-a1b2c3d4e5f6',
      aiReplyId: AI_REPLY,
      originalLetterId: 'ltr_4e8a0b13',
      replyLetterId: 'ltr_4e8a0c77',
      userId: 'u_52210',
      persona: 'poet',
      provider: 'deepseek-chat',
      fallback: false,
      deliveredAt: at('2026-12-02T08:01:42.880+08:00'),
      executionId: AI_EXECUTION,
    },
    {
      // The provider's circuit was open, so the persona's template reply went out instead.
      eventId: 'd4e5f6a7-b8c9-4d0e-9f1a-b2c3d4e5f6a7',
      aiReplyId: 'air_51164',
      originalLetterId: 'ltr_51d2e9a0',
      replyLetterId: 'ltr_51d2ea14',
      userId: 'u_47731',
      persona: 'traveler',
      provider: 'template',
      fallback: true,
      deliveredAt: at('2026-12-22T10:00:03.145+01:00'),
      executionId: 'e5f6a7b8-c9d0-5e1f-a2b3-c4d5e6f7a8b9',
    },
  ],

  CourierTaskTimeoutEvent: [
    {
      eventId: 'e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9',
      taskId: COURIER_TASK,
      occurredAt: at('2026-12-05T14:30:01.100+08:00'),
      executionId: COURIER_EXECUTION,
      event: {
        'org.openpenpal.platform.CourierTaskTimedOut': {
          courierId: COURIER,
          acceptedAt: at('2026-12-03T14:00:00+08:00'),
          deadline: at('2026-12-04T14:00:00+08:00'),
          timeoutCount: 1,
        },
      },
    },
    {
      eventId: 'f6a7b8c9-d0e1-4f2a-b3c4-d5e6f7a8b9c0',
      taskId: COURIER_TASK,
      occurredAt: at('2026-12-07T14:00:02.310+08:00'),
      executionId: '6c7d8e9f-0a1b-5c2d-b3e4-f5a6b7c8d9e0',
      event: {
        'org.openpenpal.platform.CourierTaskReassigned': {
          previousCourierId: COURIER,
          newCourierId: NEW_COURIER,
          reason: 'timeout: 2 reminders without delivery',
          newDeadline: at('2026-12-09T14:00:02+08:00'),
        },
      },
    },
    {
      eventId: 'a7b8c9d0-e1f2-4a3b-84c5-e6f7a8b9c0d1',
      taskId: 'ct_774188',
      occurredAt: at('2026-12-07T15:00:01.004+08:00'),
      executionId: '7d8e9f0a-1b2c-5d3e-a4f5-a6b7c8d9e0f1',
      event: {
        'org.openpenpal.platform.CourierTaskEscalated': {
          courierId: 'u_88377',
          zoneCode: 'PKU-YY',
          managerUserId: ZONE_MANAGER,
          reason: 'no eligible courier in zone',
        },
      },
    },
  ],

  InboundEventRejected: [
    {
      eventId: '5d1c7a3e-8b2f-5a4d-9c6e-0f1a2b3c4d5e',
      rejectedAt: at('2026-12-18T09:00:00.120+08:00'),
      service: 'handler-future-letter-unlock',
      sourceTopic: 'openpenpal.letters.future-letters',
      sourcePartition: 3,
      sourceOffset: 48_211,
      originalEventId: '0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b',
      eventType: 'FutureLetterScheduled',
      subjectId: 'ltr_missing_01',
      errorCode: 'NOT_FOUND',
      reason: 'letter ltr_missing_01 does not exist',
    },
    {
      eventId: '6e2d8b4f-9c3a-5b5e-8d7f-1a2b3c4d5e6f',
      rejectedAt: at('2026-12-18T09:00:01.004+08:00'),
      service: 'handler-future-letter-unlock',
      sourceTopic: 'openpenpal.letters.future-letters',
      sourcePartition: 1,
      sourceOffset: 77,
      originalEventId: null,
      eventType: 'FutureLetterScheduled',
      subjectId: null,
      errorCode: 'VALIDATION_FAILED',
      reason: 'scheduledAt: must be between 2000-01-01 and 2100-01-01',
    },
  ],
  LetterMovedToCleanup: [
    {
      eventId: 'b8c9d0e1-f2a3-4b4c-95d6-f7a8b9c0d1e2',
      letterId: 'ltr_0a9b8c7d',
      authorId: WRITER,
      previousStatus: 'draft',
      cleanupAt: at('2026-12-18T03:00:04.512+08:00'),
      permanentDeletionAt: at('2026-12-25T03:00:04.512+08:00'),
      executionId: CLEANUP_OK_EXECUTION,
    },
    {
      eventId: 'c9d0e1f2-a3b4-4c5d-a6e7-a8b9c0d1e2f3',
      letterId: 'ltr_1b0c9d8e',
      authorId: 'u_33190',
      previousStatus: 'generated',
      cleanupAt: at('2026-12-18T03:00:04.530+08:00'),
      permanentDeletionAt: at('2026-12-25T03:00:04.530+08:00'),
      executionId: CLEANUP_OK_EXECUTION,
    },
  ],

  FutureLetterEvent: [
    {
      eventId: 'd0e1f2a3-b4c5-4d6e-b7f8-a9b0c1d2e3f4',
      occurredAt: at('2026-12-01T10:15:00+08:00'),
      event: {
        'org.openpenpal.platform.FutureLetterScheduled': {
          letterId: LETTER,
          scheduledAt: RELEASE_AT,
          timezone: 'Asia/Shanghai',
        },
      },
    },
    {
      eventId: 'e1f2a3b4-c5d6-4e7f-88a9-b0c1d2e3f4a5',
      occurredAt: at('2026-12-23T21:47:13+01:00'),
      event: {
        'org.openpenpal.platform.FutureLetterCancelled': {
          letterId: BERLIN_LETTER,
          cancelledAt: at('2026-12-23T21:47:13+01:00'),
        },
      },
    },
  ],

  AiReplyRequested: [
    {
      eventId: 'f2a3b4c5-d6e7-4f8a-99b0-c1d2e3f4a5b6',
      letterId: 'ltr_4e8a0b13',
      userId: 'u_52210',
      persona: 'poet',
      timezone: 'Asia/Shanghai',
      requestedAt: at('2026-12-01T08:00:00+08:00'),
      // The platform sends its default of 24 hours explicitly when the user chose nothing.
      delay: { 'org.openpenpal.platform.AiReplyDelayHours': { delayHours: 24 } },
    },
    {
      eventId: 'a3b4c5d6-e7f8-4a9b-8c0d-d2e3f4a5b6c7',
      letterId: 'ltr_60f1a2b3',
      userId: 'u_47731',
      persona: 'traveler',
      timezone: 'Europe/Berlin',
      requestedAt: at('2026-12-21T22:30:00+01:00'),
      // The next 08:00 in Berlin: 2026-12-22T08:00+01:00.
      delay: { 'org.openpenpal.platform.AiReplyDelayPreset': { preset: 'tomorrow_morning' } },
    },
    {
      eventId: 'b4c5d6e7-f8a9-4b0c-9d1e-e3f4a5b6c7d8',
      letterId: 'ltr_72a3b4c5',
      userId: WRITER,
      persona: 'philosopher',
      timezone: 'Asia/Shanghai',
      requestedAt: at('2026-12-10T13:20:00+08:00'),
      delay: { 'org.openpenpal.platform.AiReplyDelayRelative': { days: 2, hours: 3, minutes: 30 } },
    },
    {
      eventId: 'c5d6e7f8-a9b0-4c1d-ae2f-f4a5b6c7d8e9',
      letterId: 'ltr_83b4c5d6',
      userId: RECIPIENT,
      persona: 'friend',
      timezone: 'Asia/Shanghai',
      requestedAt: at('2026-12-20T16:00:00+08:00'),
      delay: {
        'org.openpenpal.platform.AiReplyDelayAbsolute': { at: at('2026-12-25T09:00:00+08:00') },
      },
    },
  ],

  CourierTaskEvent: [
    {
      eventId: 'd6e7f8a9-b0c1-4d2e-8f3a-a5b6c7d8e9f0',
      occurredAt: at('2026-12-03T14:00:00+08:00'),
      event: {
        'org.openpenpal.platform.CourierTaskAccepted': {
          taskId: COURIER_TASK,
          courierId: COURIER,
          acceptedAt: at('2026-12-03T14:00:00+08:00'),
        },
      },
    },
    {
      eventId: 'e7f8a9b0-c1d2-4e3f-904a-b6c7d8e9f0a1',
      occurredAt: at('2026-12-08T09:41:17+08:00'),
      event: {
        'org.openpenpal.platform.CourierTaskDelivered': {
          taskId: COURIER_TASK,
          deliveredAt: at('2026-12-08T09:41:17+08:00'),
        },
      },
    },
    {
      eventId: 'f8a9b0c1-d2e3-4f4a-a15b-c7d8e9f0a1b2',
      occurredAt: at('2026-12-08T17:05:44+08:00'),
      event: {
        'org.openpenpal.platform.CourierTaskFailed': {
          taskId: 'ct_774201',
          failedAt: at('2026-12-08T17:05:44+08:00'),
          reason: 'recipient dormitory closed for the winter break',
        },
      },
    },
  ],
};
