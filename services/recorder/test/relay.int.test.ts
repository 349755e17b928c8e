import { createTaskDefinitions, seedDefaultTasks, type TaskDefinitions } from '@openpenpal/task-definitions';
import { SchedulerError } from '@openpenpal/errors';
import { errorWithCode, waitFor } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { republishDefinitions } from '../src/relay/republish-definitions.ts';
import { startRecorder, type RunningRecorder } from './in-process.ts';
import { collectTopic, createRecorderWorld, logger, type RecorderWorld } from './support.ts';

const stack = inject('stack');

describe('the definition relay', () => {
  let world: RecorderWorld;
  let tasks: TaskDefinitions;
  let running: RunningRecorder | undefined;
  const stops: (() => Promise<void>)[] = [];
  const clock = { now: () => Date.parse('2026-12-01T08:00:00Z') };
  const actor = { actor: 'admin-1' };

  beforeEach(async () => {
    world = await createRecorderWorld(stack);
    tasks = createTaskDefinitions({ store: world.store, clock });
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
    for (const stop of stops.splice(0)) await stop();
    await world.close();
  });

  const collect = async <S extends 'TaskDefinition' | 'TaskCommand'>(topic: string, schema: S) => {
    const collector = await collectTopic(world, topic, schema);
    stops.push(() => collector.close());
    return collector.messages;
  };

  it('publishes every definition change in order, a tombstone for a delete, and run requests as commands', async () => {
    const definitions = await collect(world.kafka.topics.definitions!, 'TaskDefinition');
    const commands = await collect(world.kafka.topics.commands!, 'TaskCommand');
    running = await startRecorder(world);

    const created = await tasks.createTask(
      { task_id: 'cleanup', name: 'Cleanup', task_type: 'letter_cleanup', cron_expression: '0 3 * * *' },
      actor,
    );
    await tasks.updateTask('cleanup', { priority: 'high' }, actor);
    const run = await tasks.requestRun('cleanup', {
      ...actor,
      reason: 'backfill',
      payloadOverride: { days_old: 1 },
    });
    await tasks.disableTask('cleanup', actor);
    await tasks.deleteTask('cleanup', actor);

    await waitFor(() => definitions.length === 4 && commands.length === 1, {
      what: 'four definitions, one command',
      timeoutMs: 30_000,
    });
    expect(
      definitions.map((m) => [
        m.key,
        m.value?.revision ?? null,
        m.value?.priority ?? null,
        m.value?.is_active ?? null,
      ]),
    ).toEqual([
      ['cleanup', 0, 'normal', true],
      ['cleanup', 1, 'high', true],
      ['cleanup', 3, 'high', false],
      ['cleanup', null, null, null],
    ]);
    expect(definitions[0]!.headers['message-id']).toBe(created.eventIds[0]);
    expect(commands[0]).toMatchObject({
      key: 'cleanup',
      value: {
        command_id: run.eventIds[0],
        command: 'run_now',
        task_id: 'cleanup',
        requested_by: 'admin-1',
        reason: 'backfill',
        payload_override: '{"days_old":1}',
      },
    });
  });

  it('resumes from its checkpoint after a restart, publishing what changed meanwhile and nothing twice', async () => {
    const definitions = await collect(world.kafka.topics.definitions!, 'TaskDefinition');
    running = await startRecorder(world);
    await seedDefaultTasks({ store: world.store, clock }, actor);
    await waitFor(() => definitions.length === 5, { what: 'the five defaults', timeoutMs: 30_000 });
    await running.close();

    await tasks.updateTask('letter_cleanup', { cron_expression: '30 3 * * *' }, actor);
    await tasks.disableTask('ai_penpal_reply', actor);
    running = await startRecorder(world);
    // A last change to the same key: anything published twice would come before it.
    await tasks.updateTask('letter_cleanup', { priority: 'low' }, actor);

    await waitFor(() => definitions.some((m) => m.value?.priority === 'low'), {
      what: 'the sentinel',
      timeoutMs: 30_000,
    });
    expect(definitions.map((m) => `${m.key ?? ''}@${m.value?.revision ?? 'null'}`)).toEqual([
      'future_letter_unlock@0',
      'ai_penpal_reply@0',
      'courier_timeout_check@0',
      'letter_cleanup@0',
      'writing_inspiration_push@0',
      'letter_cleanup@1',
      'ai_penpal_reply@1',
      'letter_cleanup@2',
    ]);
  });

  it('rebuilds the topic from the store: the latest definition of every task, tombstones included', async () => {
    await seedDefaultTasks({ store: world.store, clock }, actor);
    await tasks.updateTask('letter_cleanup', { priority: 'high' }, actor);
    await tasks.deleteTask('writing_inspiration_push', actor);

    const summary = await republishDefinitions({
      store: world.store,
      producer: world.producer,
      topic: world.kafka.topics.definitions!,
      logger,
    });

    expect(summary).toEqual({ definitions: 5, tombstones: 1, rounds: 1 });
    const definitions = await collect(world.kafka.topics.definitions!, 'TaskDefinition');
    await waitFor(() => definitions.length === 5, { what: 'five messages', timeoutMs: 30_000 });
    const byKey = new Map(definitions.map((m) => [m.key, m.value]));
    expect(byKey.get('letter_cleanup')).toMatchObject({ priority: 'high', revision: 1 });
    expect(byKey.get('writing_inspiration_push')).toBeNull();
    expect(byKey.get('courier_timeout_check')).toMatchObject({
      payload: '{"timeout_hours":48,"reassign_after_reminders":2}',
      cron_expression: '0 * * * *',
      priority: 'high',
    });
  });

  it('fails the process when the relay meets a failure that is not retryable', async () => {
    const fatal: Error[] = [];
    running = await startRecorder(world, {}, { onFatal: (error) => fatal.push(error) });
    const { producer } = running.ctx;
    const send = producer.send.bind(producer);
    const definitionsTopic = world.kafka.topics.definitions!;
    producer.send = (binding, messages) =>
      binding.topic === definitionsTopic
        ? Promise.reject(new SchedulerError('VALIDATION_FAILED', 'a definition the schema refuses'))
        : send(binding, messages);

    await tasks.createTask(
      { task_id: 'cleanup', name: 'Cleanup', task_type: 'letter_cleanup', cron_expression: '0 3 * * *' },
      actor,
    );

    await waitFor(() => fatal.length > 0, { what: 'the fatal failure', timeoutMs: 30_000 });
    expect(fatal).toEqual([errorWithCode('VALIDATION_FAILED')]);
    const ready = await running.ops.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ checks: { fatal: false } });
  });
});
