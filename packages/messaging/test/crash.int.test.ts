import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createConsumerRunner, subscription, type ConsumerRunner } from '../src/index.ts';
import {
  committedOffsets,
  contracts,
  logger,
  setupMessagingTest,
  trigger,
  waitFor,
  type MessagingTest,
} from './support.ts';

const stack = inject('stack');
const fixture = fileURLToPath(new URL('./fixtures/crash-consumer.ts', import.meta.url));

describe('a consumer killed before it committed', () => {
  let t: MessagingTest;
  let runner: ConsumerRunner | undefined;
  beforeEach(async () => {
    t = await setupMessagingTest(stack, 1);
  });
  afterEach(async () => {
    await runner?.close();
    await t.close();
  });

  it('has its message redelivered to the next member of the group', async () => {
    await t.producer.send(t.binding, [{ key: 'crash', value: trigger('crash', 1) }]);
    const groupId = t.ctx.groupId();
    const child = spawn(process.execPath, [fixture, stack.kafkaBrokers.join(','), t.binding.topic, groupId], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => output.includes('handled 0'), 30_000, 'the child to handle the message');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(await committedOffsets(t.kafka, groupId, t.binding.topic)).toEqual({ 0: '-1' });

    const redelivered: string[] = [];
    runner = createConsumerRunner({
      kafka: t.kafka,
      contracts,
      producer: t.producer,
      logger,
      groupId,
      subscriptions: [
        subscription(t.binding, (m) => {
          redelivered.push(`${m.offset}:${m.value.task_id}`);
          return Promise.resolve();
        }),
      ],
    });
    await runner.start();
    // The killed member holds its partition until its 6 s session times out.
    await waitFor(() => redelivered.length === 1, 60_000, 'the redelivery');
    expect(redelivered).toEqual(['0:crash']);
  });
});
