import { ROOT_CONTEXT, context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { createContracts, unionBranch, type DelayRequest, type TaskTrigger } from '@openpenpal/contracts';
import type { OutgoingMessage, Producer } from '@openpenpal/messaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDelayClient, type DelayClient } from '../src/index.ts';

const contracts = createContracts();
const NOW = Date.parse('2026-12-01T10:15:02.250+08:00');
const DUE = Date.parse('2026-12-31T20:00:00+08:00');
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

const trigger: TaskTrigger = {
  execution_id: '6f1c2a8e-3b4d-5e6f-8a9b-0c1d2e3f4a5b',
  task_id: 'future-letter-unlock',
  task_type: 'future_letter_unlock',
  task_name: 'Future Letter Auto-unlock',
  timezone: 'Asia/Shanghai',
  nominal_time: DUE,
  fire_time: DUE,
  attempt: 1,
  max_retries: 3,
  timeout_secs: 300,
  payload: JSON.stringify({ letterId: 'ltr_9f3a2c71' }),
  source: 'delayed',
  fencing_token: 0,
  original_execution_id: null,
  business_key: 'ltr_9f3a2c71',
};
const target = {
  binding: { topic: 'scheduler.trigger.future-letter-unlock', schema: 'TaskTrigger' as const },
  key: 'future-letter-unlock',
  value: trigger,
};

/**
 * The client with a producer that keeps what it is asked to send: these tests are about the
 * requests the client builds (the integration test sends them through Kafka to the delay queue).
 */
function recordingClient(): {
  client: DelayClient;
  sent: { topic: string; message: OutgoingMessage<DelayRequest> }[];
} {
  const sent: { topic: string; message: OutgoingMessage<DelayRequest> }[] = [];
  const producer: Pick<Producer, 'send'> = {
    send: (binding, messages) => {
      for (const message of messages)
        sent.push({ topic: binding.topic, message: message as OutgoingMessage<DelayRequest> });
      return Promise.resolve([]);
    },
  };
  const client = createDelayClient({
    producer,
    source: 'handler-future-letter-unlock',
    clock: { now: () => NOW },
  });
  return { client, sent };
}

const scheduleOf = (message: OutgoingMessage<DelayRequest> | undefined) => {
  const branch = message?.value && unionBranch(message.value.event);
  return branch?.name === 'org.openpenpal.scheduler.ScheduleDelayedMessage' ? branch.value : undefined;
};

describe('delay client requests', () => {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(() => {
    context.disable();
    propagation.disable();
  });

  it('schedules on the requests topic, keyed by the message id, with the target value encoded', async () => {
    const { client, sent } = recordingClient();
    const receipt = await client.schedule({
      messageId: 'future_letter_unlock:ltr_9f3a2c71',
      dueAt: DUE,
      target,
    });
    expect(sent).toHaveLength(1);
    const [{ topic, message } = { topic: '', message: undefined }] = sent;
    expect(topic).toBe('scheduler.delay-requests');
    expect(message).toMatchObject({ key: 'future_letter_unlock:ltr_9f3a2c71', messageId: receipt.requestId });
    expect(message?.value).toMatchObject({
      request_id: receipt.requestId,
      requested_at: NOW,
      source: 'handler-future-letter-unlock',
    });
    const schedule = scheduleOf(message);
    expect(schedule).toMatchObject({
      message_id: 'future_letter_unlock:ltr_9f3a2c71',
      due_at: DUE,
      target_topic: 'scheduler.trigger.future-letter-unlock',
      target_key: 'future-letter-unlock',
      if_pending: 'keep',
    });
    expect(contracts.codec('TaskTrigger').decode(schedule?.payload ?? Buffer.alloc(0))).toEqual(trigger);
    expect(schedule?.headers.schema?.toString()).toBe('TaskTrigger');
    // No span is active: no trace context to carry.
    expect(schedule?.headers).not.toHaveProperty('traceparent');
    // What the client builds is a valid DelayRequest.
    expect(
      contracts.codec('DelayRequest').decode(contracts.codec('DelayRequest').encode(message!.value!)),
    ).toEqual(message?.value);
    expect(receipt.messageId).toBe('future_letter_unlock:ltr_9f3a2c71');
  });

  it("carries the caller's W3C trace context in the delayed message's headers", async () => {
    const { client, sent } = recordingClient();
    const active = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
    });
    await context.with(active, () =>
      client.schedule({
        messageId: 'm',
        dueAt: new Date(DUE),
        target: { ...target, headers: { 'x-origin': 'api' } },
      }),
    );
    const headers = scheduleOf(sent[0]?.message)?.headers ?? {};
    expect(headers.traceparent?.toString()).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
    expect(headers['x-origin']?.toString()).toBe('api');
  });

  it('sends replace and cancel requests for the same id under the same key, in order', async () => {
    const { client, sent } = recordingClient();
    await client.schedule({ messageId: 'm', dueAt: DUE, target, ifPending: 'replace' });
    await client.cancel({ messageId: 'm', reason: 'future letter cancelled' });
    expect(sent.map((s) => s.message.key)).toEqual(['m', 'm']);
    expect(scheduleOf(sent[0]?.message)?.if_pending).toBe('replace');
    expect(sent[1]?.message.value?.event).toEqual({
      'org.openpenpal.scheduler.CancelDelayedMessage': { message_id: 'm', reason: 'future letter cancelled' },
    });
  });

  it.each([
    ['an empty message id', { messageId: '' }, 'messageId'],
    ['a blank message id', { messageId: '   ' }, 'messageId'],
    ['a message id with a newline', { messageId: 'a\nb' }, 'messageId'],
    ['a message id with a C1 control character', { messageId: 'a\u0085b' }, 'messageId'],
    ['a message id over 256 characters', { messageId: 'x'.repeat(257) }, 'messageId'],
    ['a due time in seconds', { dueAt: Math.floor(DUE / 1000) }, 'dueAt'],
    ['a fractional due time', { dueAt: DUE + 0.5 }, 'dueAt'],
    ['an infinite due time', { dueAt: Number.POSITIVE_INFINITY }, 'dueAt'],
    ['NaN', { dueAt: Number.NaN }, 'dueAt'],
    ['an invalid Date', { dueAt: new Date('not a date') }, 'dueAt'],
    ['a due time beyond the horizon', { dueAt: NOW + 3_661 * 86_400_000 }, 'dueAt'],
    ['an unknown ifPending', { ifPending: 'overwrite' }, 'ifPending'],
    ['a message-id header', { target: { ...target, headers: { 'message-id': 'x' } } }, 'target.headers'],
    [
      'an empty target topic',
      { target: { ...target, binding: { ...target.binding, topic: '' } } },
      'target.binding.topic',
    ],
  ])('refuses %s before sending anything', async (_name, change, field) => {
    const { client, sent } = recordingClient();
    const input = { messageId: 'm', dueAt: DUE, target, ...change } as Parameters<DelayClient['schedule']>[0];
    await expect(client.schedule(input)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      retryable: false,
      details: { field },
    });
    expect(sent).toEqual([]);
  });

  it('refuses a target value its schema does not accept, naming the field', async () => {
    const { client, sent } = recordingClient();
    const value = { ...trigger, attempt: 'first' } as unknown as TaskTrigger;
    await expect(
      client.schedule({ messageId: 'm', dueAt: DUE, target: { ...target, value } }),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('attempt') as unknown,
    });
    expect(sent).toEqual([]);
  });

  it('accepts a due time in the past (published at once) and one exactly at the horizon', async () => {
    const { client, sent } = recordingClient();
    await client.schedule({ messageId: 'late', dueAt: NOW - 60_000, target });
    await client.schedule({ messageId: 'far', dueAt: NOW + 3_660 * 86_400_000, target });
    expect(sent).toHaveLength(2);
  });

  it('refuses a cancel without a reason or with a bad id', async () => {
    const { client, sent } = recordingClient();
    await expect(client.cancel({ messageId: 'm', reason: ' ' })).rejects.toMatchObject({
      details: { field: 'reason' },
    });
    await expect(client.cancel({ messageId: 'a\tb', reason: 'x' })).rejects.toMatchObject({
      details: { field: 'messageId' },
    });
    expect(sent).toEqual([]);
  });

  it('refuses options it cannot work with when it is built', () => {
    const producer = { send: () => Promise.resolve([]) };
    expect(() => createDelayClient({ producer, source: '' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => createDelayClient({ producer, source: 'api', topic: ' ' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => createDelayClient({ producer, source: 'api', maxHorizonMs: 0 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});
