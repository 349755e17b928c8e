import { waitFor } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createTickerWorld, type TickerWorld } from './int-support.ts';
import { startTickerProcess, stopTickerProcess, type TickerProcess } from './processes.ts';
import { definition } from './support.ts';

const stack = inject('stack');

describe('a ticker restarted right after a SIGKILL', () => {
  let world: TickerWorld;
  const processes: TickerProcess[] = [];
  beforeEach(async () => {
    world = await createTickerWorld(stack);
  });
  afterEach(async () => {
    for (const p of processes.splice(0)) await stopTickerProcess(p, 'SIGKILL');
    await world.close();
  });

  it('fires again within 10 s of the kill, with the default lease settings', async () => {
    await world.producer.send({ topic: world.definitionsTopic, schema: 'TaskDefinition' }, [
      { key: 'secondly', value: definition('secondly', { cron_expression: '* * * * * *' }) },
    ]);
    const reader = await world.collectTriggers(['letter_cleanup']);
    const first = startTickerProcess(world, 'ticker-r');
    processes.push(first);
    await waitFor(() => reader.messages.length >= 3, {
      what: 'the first process to fire',
      timeoutMs: 30_000,
    });

    const killedAt = Date.now();
    await stopTickerProcess(first, 'SIGKILL');
    const second = startTickerProcess(world, 'ticker-r');
    processes.push(second);
    const resumed = () => reader.messages.find((m) => m.value?.fencing_token === 2);
    await waitFor(() => resumed() !== undefined, {
      what: 'the restarted process to fire',
      timeoutMs: 30_000,
    });
    const resumedMs = (resumed()?.receivedAt ?? 0) - killedAt;
    const loadedMs = (second.at('table loaded') ?? 0) - killedAt;
    const leadingMs = (second.at('leadership acquired') ?? 0) - killedAt;
    console.log(
      `restart: table loaded ${loadedMs} ms, leading ${leadingMs} ms, first trigger acknowledged ${resumedMs} ms after the kill`,
    );
    expect(second.has('took over the lease of an earlier process of this instance')).toBe(true);
    expect(resumedMs).toBeLessThan(10_000);

    await waitFor(() => reader.messages.filter((m) => m.value?.fencing_token === 2).length >= 3, {
      what: 'three triggers from the restarted process',
      timeoutMs: 10_000,
    });
    await stopTickerProcess(second, 'SIGTERM');
    await reader.close();
    // Every second from the first to the last is triggered exactly once, the kill included.
    const triggers = reader.messages.flatMap((m) => (m.value ? [m.value] : []));
    const seconds = triggers.map((t) => t.nominal_time).sort((x, y) => x - y);
    const earliest = seconds[0] ?? 0;
    expect(seconds).toEqual(Array.from({ length: seconds.length }, (_, i) => earliest + i * 1_000));
  });
});
