import type {
  ExecutionEvent,
  MissReason,
  MisfirePolicy,
  SkipReason,
  TaskDefinition,
  TaskTrigger,
  TriggerSource,
} from '@openpenpal/contracts';
import { executionEventId } from './ids.ts';

export interface TriggerInput {
  def: TaskDefinition;
  executionId: string;
  nominal: number;
  fireTime: number;
  source: TriggerSource;
  fencingToken: number;
  payload: string;
}

export function buildTrigger(input: TriggerInput): TaskTrigger {
  const { def } = input;
  return {
    execution_id: input.executionId,
    task_id: def.task_id,
    task_type: def.task_type,
    task_name: def.name,
    timezone: def.timezone,
    nominal_time: input.nominal,
    fire_time: input.fireTime,
    attempt: 1,
    max_retries: def.max_retries,
    timeout_secs: def.timeout_secs,
    payload: input.payload,
    source: input.source,
    fencing_token: input.fencingToken,
  };
}

export function triggeredEvent(trigger: TaskTrigger, topic: string, worker: string): ExecutionEvent {
  return {
    event_id: executionEventId(trigger.execution_id, 'triggered'),
    execution_id: trigger.execution_id,
    task_id: trigger.task_id,
    task_type: trigger.task_type,
    occurred_at: trigger.fire_time,
    worker,
    event: {
      'org.openpenpal.scheduler.TaskTriggered': {
        nominal_time: trigger.nominal_time,
        fire_time: trigger.fire_time,
        attempt: trigger.attempt,
        source: trigger.source,
        fencing_token: trigger.fencing_token,
        trigger_topic: topic,
      },
    },
  };
}

export function missedEvent(input: {
  def: TaskDefinition;
  executionId: string;
  nominal: number;
  reason: MissReason;
  policy: MisfirePolicy;
  at: number;
  worker: string;
}): ExecutionEvent {
  return {
    event_id: executionEventId(input.executionId, 'missed'),
    execution_id: input.executionId,
    task_id: input.def.task_id,
    task_type: input.def.task_type,
    occurred_at: input.at,
    worker: input.worker,
    event: {
      'org.openpenpal.scheduler.TaskMissed': {
        nominal_time: input.nominal,
        reason: input.reason,
        policy: input.policy,
      },
    },
  };
}

export function skippedEvent(input: {
  def: TaskDefinition;
  executionId: string;
  reason: SkipReason;
  detail: string;
  at: number;
  worker: string;
}): ExecutionEvent {
  return {
    event_id: executionEventId(input.executionId, 'skipped'),
    execution_id: input.executionId,
    task_id: input.def.task_id,
    task_type: input.def.task_type,
    occurred_at: input.at,
    worker: input.worker,
    event: {
      'org.openpenpal.scheduler.ExecutionSkipped': {
        reason: input.reason,
        skipped_at: input.at,
        detail: input.detail,
      },
    },
  };
}
