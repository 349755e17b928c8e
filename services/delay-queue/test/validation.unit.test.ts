import { createContracts, type ScheduleDelayedMessage, type TaskTrigger } from '@openpenpal/contracts';
import { describe, expect, it } from 'vitest';
import { loadDelayQueueConfig } from '../src/config.ts';
import { cancelOutcomeForEvent, scheduleOutcomeForEvent } from '../src/events.ts';
import { createRequestValidator } from '../src/validation.ts';

const contracts = createContracts();
const NOW = Date.UTC(2026, 0, 1);
const trigger: TaskTrigger = {
  execution_id: '7f1d3f0e-3f1a-5b0e-9d55-0c1d2e3f4a5b',
  task_id: 'ai_penpal_reply',
  task_type: 'ai_penpal_reply',
  task_name: 'AI pen-pal reply',
  timezone: 'Asia/Shanghai',
  nominal_time: NOW,
  fire_time: NOW,
  attempt: 1,
  max_retries: 3,
  timeout_secs: 300,
  payload: '{}',
  source: 'delayed',
  fencing_token: 0,
};
const validator = createRequestValidator({
  maxHorizonMs: 1_000_000,
  maxRecordBytes: 2_000,
  extraTopics: ['t-exact', 't-prefix-*'],
  registry: contracts.registry,
});
const request = (overrides: Partial<ScheduleDelayedMessage> = {}): ScheduleDelayedMessage => ({
  message_id: 'ai_penpal_reply:1',
  due_at: NOW + 1000,
  target_topic: 'scheduler.trigger.ai-penpal-reply',
  target_key: 'ai_penpal_reply',
  headers: {},
  payload: contracts.codec('TaskTrigger').encode(trigger),
  ...overrides,
});
const codeOf = (overrides: Partial<ScheduleDelayedMessage>): string | undefined => {
  try {
    validator.checkSchedule(request(overrides), NOW);
    return undefined;
  } catch (error) {
    expect((error as { retryable?: boolean }).retryable).toBe(false);
    return (error as { code?: string }).code;
  }
};

describe('request validation', () => {
  it('accepts a well-formed request, a past due time included', () => {
    expect(codeOf({})).toBeUndefined();
    expect(codeOf({ due_at: 0 })).toBeUndefined();
    expect(codeOf({ due_at: NOW + 1_000_000 })).toBeUndefined();
  });

  it('rejects a due time that is negative, fractional or beyond the horizon', () => {
    expect(codeOf({ due_at: -1 })).toBe('VALIDATION_FAILED');
    expect(codeOf({ due_at: NOW + 0.5 })).toBe('VALIDATION_FAILED');
    expect(codeOf({ due_at: NOW + 1_000_001 })).toBe('VALIDATION_FAILED');
    expect(codeOf({ due_at: Number.MAX_SAFE_INTEGER })).toBe('VALIDATION_FAILED');
  });

  it('rejects an empty id or target topic and a topic outside the catalogue and the extra list', () => {
    expect(codeOf({ message_id: '' })).toBe('VALIDATION_FAILED');
    expect(codeOf({ message_id: 'x'.repeat(257) })).toBe('VALIDATION_FAILED');
    expect(codeOf({ message_id: 'letter\u0000one' })).toBe('VALIDATION_FAILED');
    expect(codeOf({ message_id: 'line\nbreak' })).toBe('VALIDATION_FAILED');
    expect(codeOf({ message_id: 'future_letter_unlock:信-1' })).toBeUndefined();
    expect(codeOf({ target_topic: '' })).toBe('VALIDATION_FAILED');
    expect(codeOf({ target_topic: 'openpenpal.nowhere' })).toBe('UNKNOWN_TOPIC');
    expect(codeOf({ target_topic: 't-exact-not' })).toBe('UNKNOWN_TOPIC');
    expect(codeOf({ target_topic: 't-exact', payload: Buffer.from('anything') })).toBeUndefined();
    expect(codeOf({ target_topic: 't-prefix-123', payload: Buffer.from('x') })).toBeUndefined();
  });

  it('rejects a record over the size limit, counting key and headers', () => {
    expect(codeOf({ target_topic: 't-exact', payload: Buffer.alloc(2_001) })).toBe('PAYLOAD_TOO_LARGE');
    expect(
      codeOf({ target_topic: 't-exact', payload: Buffer.alloc(1_000), headers: { h: Buffer.alloc(1_000) } }),
    ).toBe('PAYLOAD_TOO_LARGE');
  });

  it('rejects a payload that is not Avro of the target topic schema, but passes an unknown schema version', () => {
    expect(codeOf({ payload: Buffer.from('{"json":true}') })).toBe('VALIDATION_FAILED');
    const otherSchema = contracts.codec('DelayedMessageEvent').encode({
      event_id: 'e',
      message_id: 'm',
      occurred_at: NOW,
      event: { 'org.openpenpal.scheduler.DelayedMessageRejected': { error_code: 'X', reason: 'y' } },
    });
    expect(codeOf({ payload: otherSchema })).toBe('VALIDATION_FAILED');
    const newerVersion = Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8, 0xab), Buffer.from([2])]);
    expect(codeOf({ payload: newerVersion })).toBeUndefined();
  });
});

describe('event outcomes', () => {
  it('says rescheduled for a replace that took effect and treats one in flight as fired or duplicate', () => {
    expect(scheduleOutcomeForEvent('scheduled')).toBe('scheduled');
    expect(scheduleOutcomeForEvent('rescheduled')).toBe('rescheduled');
    expect(scheduleOutcomeForEvent('duplicate')).toBe('duplicate');
    expect(scheduleOutcomeForEvent('in_flight')).toBe('duplicate');
    expect(scheduleOutcomeForEvent('already_fired')).toBe('already_fired');
    expect(cancelOutcomeForEvent('in_flight')).toBe('in_flight');
    expect(cancelOutcomeForEvent('already_fired')).toBe('already_fired');
    expect(cancelOutcomeForEvent('not_found')).toBe('not_found');
  });
});

describe('config', () => {
  it('reads defaults and lists of extra topics', () => {
    const config = loadDelayQueueConfig({
      KAFKA_BROKERS: 'a:1, b:2',
      REDIS_URL: 'redis://localhost:6379',
      DELAY_QUEUE_EXTRA_TOPICS: 't-a, t-b-*',
    });
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(config.DELAY_QUEUE_EXTRA_TOPICS).toEqual(['t-a', 't-b-*']);
    expect(config.DELAY_QUEUE_REQUESTS_TOPIC).toBe('scheduler.delay-requests');
    expect(config.DELAY_QUEUE_BATCH_SIZE).toBe(4_000);
  });

  it('names every bad variable', () => {
    expect(() =>
      loadDelayQueueConfig({ KAFKA_BROKERS: 'a:1', REDIS_URL: 'http://x', DELAY_QUEUE_BATCH_SIZE: '0' }),
    ).toThrow(/REDIS_URL.*DELAY_QUEUE_BATCH_SIZE|DELAY_QUEUE_BATCH_SIZE.*REDIS_URL/);
  });
});
