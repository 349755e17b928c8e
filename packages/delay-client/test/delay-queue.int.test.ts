import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT_CONTEXT, TraceFlags, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  createContracts,
  shortName,
  unionBranch,
  type DelayedMessageEvent,
  type TaskTrigger,
} from '@openpenpal/contracts';
import { createKafkaClient, createProducer, type Producer } from '@openpenpal/messaging';
import {
  collectTopics,
  createKafkaTestContext,
  findWorkspaceRoot,
  uniqueName,
  waitFor,
  type KafkaTestContext,
  type TopicCollector,
} from '@openpenpal/test-kit';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDelayClient, type DelayClient } from '../src/index.ts';

const stack = inject('stack');
const contracts = createContracts();
const logger = pino({ level: 'silent' });
// The delay queue as it is deployed: its own process, configured through its environment.
const MAIN = join(findWorkspaceRoot(fileURLToPath(import.meta.url)), 'services/delay-queue/src/main.ts');

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function trigger(letterId: string, dueAt: number): TaskTrigger {
  return {
    execution_id: '6f1c2a8e-3b4d-5e6f-8a9b-0c1d2e3f4a5b',
    task_id: 'future-letter-unlock',
    task_type: 'future_letter_unlock',
    task_name: 'Future Letter Auto-unlock',
    timezone: 'Asia/Shanghai',
    nominal_time: dueAt,
    fire_time: dueAt,
    attempt: 1,
    max_retries: 3,
    timeout_secs: 300,
    payload: JSON.stringify({ letterId }),
    source: 'delayed',
    fencing_token: 0,
    original_execution_id: null,
    business_key: letterId,
  };
}

describe('delay client with the delay queue', () => {
  let kafka: KafkaTestContext;
  let service: ChildProcess | undefined;
  let output = '';
  let producer: Producer | undefined;
  let client: DelayClient;
  let out: TopicCollector<Buffer> | undefined;
  let prefix: string;
  let target: string;
  let events: string;

  const arrived = (messageId: string) =>
    (out?.on(target) ?? []).filter((m) => m.headers['message-id'] === messageId);
  const eventsOf = (messageId: string): DelayedMessageEvent[] =>
    (out?.on(events) ?? [])
      .filter((m) => m.key === messageId && m.value)
      .map((m) => contracts.codec('DelayedMessageEvent').decode(m.value ?? Buffer.alloc(0)));
  const outcomes = (messageId: string) =>
    eventsOf(messageId).map((event) => {
      const branch = unionBranch(event.event);
      switch (branch.name) {
        case 'org.openpenpal.scheduler.DelayedMessageScheduled':
          return branch.value.schedule_outcome;
        case 'org.openpenpal.scheduler.DelayedMessageCancelled':
          return branch.value.cancel_outcome;
        case 'org.openpenpal.scheduler.DelayedMessageDispatched':
        case 'org.openpenpal.scheduler.DelayedMessageRejected':
          return shortName(branch.name);
      }
    });
  const waitForOutcomes = async (messageId: string, count: number) => {
    await waitFor(() => outcomes(messageId).length >= count, {
      what: `${count} delay events of ${messageId}`,
      describe: () => outcomes(messageId),
    });
    return outcomes(messageId);
  };
  const waitForArrival = async (messageId: string) => {
    await waitFor(() => arrived(messageId).length > 0, { what: `${messageId} on the target topic` });
    return arrived(messageId);
  };

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    kafka = await createKafkaTestContext(stack, { requests: 3, events: 3, target: 3 });
    target = kafka.topics.target ?? '';
    events = kafka.topics.events ?? '';
    prefix = uniqueName('t-dq-client');
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        KAFKA_BROKERS: stack.kafkaBrokers.join(','),
        REDIS_URL: stack.redisUrl,
        HTTP_PORT: String(port),
        LOG_LEVEL: 'warn',
        OTEL_SDK_DISABLED: 'true',
        REDIS_KEY_PREFIX: prefix,
        DELAY_QUEUE_REQUESTS_TOPIC: kafka.topics.requests,
        DELAY_QUEUE_EVENTS_TOPIC: events,
        KAFKA_GROUP_ID: kafka.groupId('delay-queue'),
        DELAY_QUEUE_EXTRA_TOPICS: target,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    service = child;
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);

    out = await collectTopics(kafka.kafka, [target, events]);
    const requester = createProducer({
      kafka: createKafkaClient({ brokers: stack.kafkaBrokers, clientId: 'delay-client-test', logger }),
      contracts,
      logger,
    });
    producer = requester;
    await requester.connect();
    client = createDelayClient({
      producer: requester,
      topic: kafka.topics.requests,
      source: 'delay-client-test',
    });
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`delay queue exited with ${child.exitCode}:\n${output}`);
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        return ready?.status === 200;
      },
      { what: 'the delay queue to be ready', timeoutMs: 60_000, describe: () => output.slice(-2_000) },
    );
  });

  afterAll(async () => {
    await producer?.close();
    await out?.close();
    if (service && service.exitCode === null) {
      const exited = once(service, 'exit');
      service.kill('SIGTERM');
      await exited;
    }
    const redis = new Redis(stack.redisUrl);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    const admin = kafka.kafka.admin();
    await admin.connect();
    const dlqs = [`${kafka.topics.requests}.dlq`, `${events}.dlq`];
    const existing = new Set(await admin.listTopics());
    await admin.deleteTopics({ topics: dlqs.filter((topic) => existing.has(topic)) });
    await admin.disconnect();
    await kafka.close();
  });

  it('delivers a scheduled message to its target at its due time, with the trace context of the caller', async () => {
    const dueAt = Date.now() + 1_500;
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const caller = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
    });
    const value = trigger('ltr_delivered', dueAt);
    const receipt = await context.with(caller, () =>
      client.schedule({
        messageId: 'future_letter_unlock:ltr_delivered',
        dueAt,
        target: { binding: { topic: target, schema: 'TaskTrigger' }, key: 'future-letter-unlock', value },
      }),
    );
    const [message] = await waitForArrival('future_letter_unlock:ltr_delivered');
    expect(message?.receivedAt).toBeGreaterThanOrEqual(dueAt);
    expect(message?.key).toBe('future-letter-unlock');
    expect(contracts.codec('TaskTrigger').decode(message?.value ?? Buffer.alloc(0))).toEqual(value);
    expect(message?.headers.schema).toBe('TaskTrigger');
    expect(message?.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(await waitForOutcomes('future_letter_unlock:ltr_delivered', 2)).toEqual([
      'scheduled',
      'DelayedMessageDispatched',
    ]);
    expect(eventsOf('future_letter_unlock:ltr_delivered')[0]?.request_id).toBe(receipt.requestId);
  });

  it('cancels a scheduled message so it never arrives', async () => {
    const dueAt = Date.now() + 1_000;
    const binding = { topic: target, schema: 'TaskTrigger' as const };
    await client.schedule({
      messageId: 'future_letter_unlock:ltr_withdrawn',
      dueAt,
      target: { binding, key: 'future-letter-unlock', value: trigger('ltr_withdrawn', dueAt) },
    });
    await client.cancel({
      messageId: 'future_letter_unlock:ltr_withdrawn',
      reason: 'future letter withdrawn',
    });
    // A message due later than the cancelled one: once it is here, the cancelled one would be too.
    await client.schedule({
      messageId: 'future_letter_unlock:ltr_sentinel',
      dueAt: dueAt + 300,
      target: { binding, key: 'future-letter-unlock', value: trigger('ltr_sentinel', dueAt + 300) },
    });
    await waitForArrival('future_letter_unlock:ltr_sentinel');
    expect(arrived('future_letter_unlock:ltr_withdrawn')).toEqual([]);
    expect(await waitForOutcomes('future_letter_unlock:ltr_withdrawn', 2)).toEqual([
      'scheduled',
      'cancelled',
    ]);
  });

  it('keeps a pending message by default and replaces it when asked', async () => {
    const dueAt = Date.now() + 800;
    const binding = { topic: target, schema: 'TaskTrigger' as const };
    const schedule = (at: number, letterId: string, ifPending?: 'keep' | 'replace') =>
      client.schedule({
        messageId: 'future_letter_unlock:ltr_moved',
        dueAt: at,
        target: { binding, key: 'future-letter-unlock', value: trigger(letterId, at) },
        ...(ifPending ? { ifPending } : {}),
      });
    await schedule(dueAt, 'first');
    await schedule(dueAt + 200, 'kept');
    await schedule(dueAt + 400, 'replaced', 'replace');
    const [message] = await waitForArrival('future_letter_unlock:ltr_moved');
    expect(message?.receivedAt).toBeGreaterThanOrEqual(dueAt + 400);
    const value = contracts.codec('TaskTrigger').decode(message?.value ?? Buffer.alloc(0));
    expect(value.business_key).toBe('replaced');
    expect(await waitForOutcomes('future_letter_unlock:ltr_moved', 4)).toEqual([
      'scheduled',
      'duplicate',
      'rescheduled',
      'DelayedMessageDispatched',
    ]);
  });
});
