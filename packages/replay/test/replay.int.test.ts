import { randomUUID } from 'node:crypto';
import { createContracts, type ExecutionEvent } from '@openpenpal/contracts';
import { createPostgresEventStore, type PostgresEventStore } from '@openpenpal/event-store';
import { createProducer, type Producer } from '@openpenpal/messaging';
import {
  createKafkaTestContext,
  createPgTestContext,
  type KafkaTestContext,
  type PgTestContext,
} from '@openpenpal/test-kit';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  createTaskDefinitions,
  executionStreamId,
  foldExecution,
  taskStreamId,
  toStoredEvent,
} from '@openpenpal/task-definitions';
import { REPLAY_HEADER, rerunExecution, republishStreamEvents, type RerunDeps } from '../src/index.ts';
import { T0, executionEvents } from './execution-fixtures.ts';
import { readTopic } from './kafka-support.ts';

const stack = inject('stack');
const contracts = createContracts();
const logger = pino({ level: 'silent' });

describe('replay', () => {
  let pgCtx: PgTestContext;
  let kafkaCtx: KafkaTestContext;
  let store: PostgresEventStore;
  let producer: Producer;
  let deps: RerunDeps;
  const clock = { now: () => T0 + 60_000 };

  beforeEach(async () => {
    pgCtx = await createPgTestContext(stack);
    kafkaCtx = await createKafkaTestContext(stack, { events: 1, trigger: 1, rebuild: 1, definitions: 1 });
    store = createPostgresEventStore({ pool: pgCtx.pool, schema: pgCtx.schema });
    await store.migrate();
    producer = createProducer({ kafka: kafkaCtx.kafka, contracts, logger });
    deps = {
      store,
      producer,
      clock,
      worker: 'api-1',
      topics: { executionEvents: kafkaCtx.topics.events!, trigger: () => kafkaCtx.topics.trigger! },
    };
    await createTaskDefinitions({ store, clock }).createTask(
      {
        task_id: 'cleanup',
        name: 'Cleanup',
        task_type: 'letter_cleanup',
        cron_expression: '0 3 * * *',
        payload: { days_old: 7 },
      },
      { actor: 'admin-1' },
    );
  });
  afterEach(async () => {
    await producer.close();
    await store.close();
    await kafkaCtx.close();
    await pgCtx.close();
  });

  const record = async (events: readonly ExecutionEvent[]) => {
    for (const value of events) {
      const { streamId, event } = toStoredEvent('execution', value, { message_id: `m-${value.event_id}` });
      await store.append(streamId, [event]);
    }
  };

  it('re-runs a failed execution as a new one with the next attempt, linked both ways', async () => {
    const original = randomUUID();
    await record(executionEvents(original, 'failed'));

    const result = await rerunExecution(deps, {
      executionId: original,
      requestedBy: 'admin-7',
      reason: 'data fixed',
    });

    expect(result).toMatchObject({
      originalExecutionId: original,
      attempt: 2,
      triggerTopic: kafkaCtx.topics.trigger,
    });
    expect(result.executionId).not.toBe(original);
    const [trigger] = await readTopic(kafkaCtx.kafka, contracts, kafkaCtx.topics.trigger!, 'TaskTrigger', 1);
    expect(trigger).toMatchObject({
      key: 'cleanup',
      value: {
        execution_id: result.executionId,
        task_id: 'cleanup',
        task_type: 'letter_cleanup',
        task_name: 'Cleanup',
        nominal_time: T0,
        fire_time: T0 + 60_000,
        attempt: 2,
        source: 'replay',
        fencing_token: 0,
        original_execution_id: original,
        business_key: 'letter-42',
        payload: '{"days_old":7}',
      },
    });
    const [triggered] = await readTopic(
      kafkaCtx.kafka,
      contracts,
      kafkaCtx.topics.events!,
      'ExecutionEvent',
      1,
    );
    expect(triggered?.key).toBe(result.executionId);
    expect(triggered?.value?.event).toEqual({
      'org.openpenpal.scheduler.TaskTriggered': expect.objectContaining({
        attempt: 2,
        source: 'replay',
        original_execution_id: original,
      }) as unknown,
    });
    const history = await store.readStream(executionStreamId(original));
    expect(history.at(-1)).toMatchObject({
      type: 'ExecutionReplayed',
      data: { new_execution_id: result.executionId, attempt: 2, requested_by: 'admin-7' },
    });
    const folded = foldExecution(
      history.map((e) => ({ type: e.type, data: e.data, recordedAt: e.createdAt.getTime() })),
    );
    expect(folded).toMatchObject({ status: 'dead_lettered', replayed_as: result.executionId });
  });

  it('re-runs as the same execution when the same command is retried', async () => {
    const original = randomUUID();
    await record(executionEvents(original, 'failed'));
    const first = await rerunExecution(deps, {
      executionId: original,
      requestedBy: 'admin-7',
      commandId: 'cmd-1',
    });
    const second = await rerunExecution(deps, {
      executionId: original,
      requestedBy: 'admin-7',
      commandId: 'cmd-1',
    });

    expect(second).toEqual(first);
    const links = (await store.readStream(executionStreamId(original))).filter(
      (e) => e.type === 'ExecutionReplayed',
    );
    expect(links).toHaveLength(1);
    const triggers = await readTopic(kafkaCtx.kafka, contracts, kafkaCtx.topics.trigger!, 'TaskTrigger', 2);
    expect(new Set(triggers.map((t) => t.headers['message-id'])).size).toBe(1);
  });

  it('refuses to re-run an execution that did not fail, or that was never recorded', async () => {
    const succeeded = randomUUID();
    await record(executionEvents(succeeded, 'succeeded'));

    await expect(rerunExecution(deps, { executionId: succeeded, requestedBy: 'a' })).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { status: 'succeeded' },
    });
    await expect(rerunExecution(deps, { executionId: randomUUID(), requestedBy: 'a' })).rejects.toMatchObject(
      { code: 'NOT_FOUND' },
    );
  });

  it('re-publishes a revision range of an execution stream as the values it was recorded from', async () => {
    const executionId = randomUUID();
    const values = executionEvents(executionId, 'failed');
    await record(values);
    await rerunExecution(deps, { executionId, requestedBy: 'admin-7' });

    const result = await republishStreamEvents(
      { store, producer, contracts },
      {
        streamId: executionStreamId(executionId),
        topic: kafkaCtx.topics.rebuild!,
        range: { fromRevision: 1n },
      },
    );

    // The replay link (revision 4) has no Avro variant and stays out.
    expect(result).toEqual({ published: 3, firstRevision: 1n, lastRevision: 3n });
    const messages = await readTopic(
      kafkaCtx.kafka,
      contracts,
      kafkaCtx.topics.rebuild!,
      'ExecutionEvent',
      3,
    );
    expect(messages.map((m) => m.value)).toEqual(values.slice(1));
    expect(messages.map((m) => m.key)).toEqual([executionId, executionId, executionId]);
    expect(messages[0]!.headers['message-id']).toBe(`m-${values[1]!.event_id}`);
    expect(messages[0]!.headers[REPLAY_HEADER]).toBe(`${executionStreamId(executionId)}@1`);
  });

  it('re-publishes the definitions after each change of a task stream in a time range, tombstone included', async () => {
    const tasks = createTaskDefinitions({ store, clock });
    await tasks.updateTask('cleanup', { priority: 'high' }, { actor: 'a' });
    await tasks.requestRun('cleanup', { actor: 'a' });
    await tasks.deleteTask('cleanup', { actor: 'a' });
    const stored = await store.readStream(taskStreamId('cleanup'));

    const from = stored[1]!.createdAt.getTime();
    // Appends within one millisecond share a recorded time: the creation may fall in the range too.
    const expected = stored.filter((e) => e.createdAt.getTime() >= from && e.type !== 'TaskRunRequested');

    const result = await republishStreamEvents(
      { store, producer, contracts },
      { streamId: taskStreamId('cleanup'), topic: kafkaCtx.topics.definitions!, range: { fromTime: from } },
    );

    expect(result).toEqual({
      published: expected.length,
      firstRevision: expected[0]!.revision,
      lastRevision: 3n,
    });
    const messages = await readTopic(
      kafkaCtx.kafka,
      contracts,
      kafkaCtx.topics.definitions!,
      'TaskDefinition',
      expected.length,
    );
    expect(messages.map((m) => m.value?.revision ?? null)).toEqual(
      expected.map((e) => (e.type === 'TaskDeleted' ? null : Number(e.revision))),
    );
    expect(messages.at(-2)).toMatchObject({
      key: 'cleanup',
      value: { priority: 'high', revision: 1, payload: '{"days_old":7}' },
    });
    expect(messages.at(-1)).toMatchObject({ key: 'cleanup', value: null });
  });

  it('refuses to re-publish a stream it has no messages for', async () => {
    await expect(
      republishStreamEvents(
        { store, producer, contracts },
        { streamId: 'other-1', topic: kafkaCtx.topics.rebuild! },
      ),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'stream_id' } });
  });
});
