import { fileURLToPath } from 'node:url';
import { createContracts, type TaskTrigger } from '@openpenpal/contracts';
import { uniqueName, waitFor } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createTickerWorld, type TickerWorld } from './int-support.ts';
import { startTickerProcess, stopTickerProcess as stop, type TickerProcess } from './processes.ts';
import { definition } from './support.ts';

const stack = inject('stack');
const TTL_MS = 3_000;
const holdCommit = fileURLToPath(new URL('./fixtures/hold-commit.ts', import.meta.url));
const codec = createContracts().codec('TaskTrigger');

function startTicker(world: TickerWorld, name: string, nodeOptions = ''): TickerProcess {
  return startTickerProcess(world, name, {
    TICKER_TRIGGER_SEND: 'transactional',
    TICKER_LEASE_TTL_MS: String(TTL_MS),
    TICKER_LEASE_RENEW_MS: '1000',
    TICKER_LEASE_SAFETY_MARGIN_MS: '600',
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${nodeOptions}`.trim(),
  });
}

/** Every trigger on the topic as a read-uncommitted consumer sees it: open and aborted transactions too. */
async function collectUncommitted(world: TickerWorld, topic: string) {
  const seen: TaskTrigger[] = [];
  const consumer = world.kafka.consumer({
    groupId: uniqueName('g-uncommitted'),
    maxWaitTimeInMs: 50,
    readUncommitted: true,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      if (message.value) seen.push(codec.decode(message.value));
      return Promise.resolve();
    },
  });
  return { seen, close: () => consumer.disconnect() };
}

describe('transactional trigger sends across a leader change', () => {
  let world: TickerWorld;
  const processes: TickerProcess[] = [];
  beforeEach(async () => {
    world = await createTickerWorld(stack);
  });
  afterEach(async () => {
    for (const p of processes.splice(0)) await stop(p, 'SIGKILL');
    await world.close();
  });

  it('a leader killed between writing an instant and committing it leaves nothing visible, and the next leader fires that instant once', async () => {
    await world.producer.send({ topic: world.definitionsTopic, schema: 'TaskDefinition' }, [
      {
        key: 'secondly',
        value: definition('secondly', {
          cron_expression: '* * * * * *',
          misfire_policy: 'fire_all',
          misfire_grace_ms: 60_000,
        }),
      },
    ]);
    const committed = await world.collectTriggers(['letter_cleanup']);
    const uncommitted = await collectUncommitted(world, world.triggerTopic('letter_cleanup'));
    const visible = () => committed.messages.flatMap((m) => (m.value ? [m.value] : []));
    // Ticker a writes its first instant's transaction and never commits it.
    const a = startTicker(world, 'ticker-a', `--import ${holdCommit}`);
    processes.push(a);
    await waitFor(() => a.has('test: commit held'), { what: 'ticker a to hold a commit', timeoutMs: 30_000 });
    const b = startTicker(world, 'ticker-b');
    processes.push(b);
    await waitFor(() => b.has('ticker started'), { what: 'ticker b to load its table', timeoutMs: 30_000 });
    await waitFor(() => uncommitted.seen.some((t) => t.fencing_token === 1), {
      what: "ticker a's uncommitted trigger on the log",
      timeoutMs: 10_000,
    });
    // Open, so read-committed consumers see nothing yet.
    expect(visible()).toEqual([]);
    await stop(a, 'SIGKILL');
    await waitFor(() => visible().filter((t) => t.fencing_token === 2).length >= 5, {
      what: 'triggers from ticker b',
      timeoutMs: TTL_MS + 20_000,
    });
    await stop(b, 'SIGTERM');
    expect(b.child.exitCode).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await committed.close();
    await uncommitted.close();

    const held = uncommitted.seen.filter((t) => t.fencing_token === 1);
    expect(held.length).toBeGreaterThan(0);
    const triggers = visible();
    // Nothing of ticker a's transaction was ever visible (aborted when b took the id over).
    expect(triggers.filter((t) => t.fencing_token === 1)).toEqual([]);
    // Every second from the one a held to the last is visible exactly once, all from b.
    const ids = triggers.map((t) => t.execution_id);
    expect(new Set(ids).size).toBe(ids.length);
    const seconds = triggers.map((t) => t.nominal_time).sort((x, y) => x - y);
    const first = Math.min(...held.map((t) => t.nominal_time));
    expect(seconds[0]).toBe(first);
    const last = seconds.at(-1) ?? 0;
    expect(seconds).toEqual(Array.from({ length: (last - first) / 1_000 + 1 }, (_, i) => first + i * 1_000));
    expect(held.every((t) => triggers.some((v) => v.execution_id === t.execution_id))).toBe(true);
    console.log(
      `transactional failover: a held ${held.length} trigger(s) uncommitted, none visible; ` +
        `b fired ${triggers.length} seconds once each from the held one on`,
    );
  });
});
