import { createHook } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { setupMessagingTest, trigger, type MessagingTest } from './support.ts';

const stack = inject('stack');

describe('idle Kafka connections', () => {
  let test: MessagingTest;
  beforeEach(async () => {
    test = await setupMessagingTest(stack, 1);
  });
  afterEach(async () => {
    await test.close();
  });

  // kafkajs 2.2.4 re-armed its pending-request check every 1 ms on every connection, idle or not
  // (kafkajs#1704): about 1,000 timers a second per connection, and Node 24's TimeoutNegativeWarning.
  // patches/kafkajs@2.2.4.patch stops it; this fails if the patch is lost on an upgrade.
  it('arm no timers while nothing is pending', async () => {
    await test.producer.send(test.binding, [{ key: 'k', value: trigger('k', 1) }]);
    await sleep(200);
    let timers = 0;
    const hook = createHook({
      init: (_id, type) => {
        if (type === 'Timeout') timers += 1;
      },
    });
    hook.enable();
    await sleep(1_000);
    hook.disable();
    // The sleep's own timer, plus room for a metadata refresh or heartbeat; the loop made ~1,000.
    expect(timers).toBeLessThan(50);
  });
});
