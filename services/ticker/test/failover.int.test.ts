import { waitFor } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createTickerWorld, type TickerWorld } from './int-support.ts';
import { startTickerProcess, stopTickerProcess as stop, type TickerProcess } from './processes.ts';
import { definition } from './support.ts';

const stack = inject('stack');
const TTL_MS = 3_000;

function startTicker(world: TickerWorld, name: string): TickerProcess {
  return startTickerProcess(world, name, {
    TICKER_LEASE_TTL_MS: String(TTL_MS),
    TICKER_LEASE_RENEW_MS: '1000',
    TICKER_LEASE_SAFETY_MARGIN_MS: '600',
  });
}

describe('two ticker processes', () => {
  let world: TickerWorld;
  const processes: TickerProcess[] = [];
  beforeEach(async () => {
    world = await createTickerWorld(stack);
  });
  afterEach(async () => {
    for (const p of processes.splice(0)) await stop(p, 'SIGKILL');
    await world.close();
  });

  it('hand over within the lease TTL when the leader is SIGKILLed, firing every second exactly once', async () => {
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
    const reader = await world.collectTriggers(['letter_cleanup']);
    const fired = () => reader.messages.flatMap((m) => (m.value ? [m.value] : []));
    const a = startTicker(world, 'ticker-a');
    processes.push(a);
    await waitFor(() => a.has('leading'), { what: 'ticker a to lead', timeoutMs: 30_000 });
    const b = startTicker(world, 'ticker-b');
    processes.push(b);
    await waitFor(() => b.has('ticker started'), { what: 'ticker b to load its table', timeoutMs: 30_000 });
    expect(b.has('leading')).toBe(false);
    await reader.waitForCount(4, { timeoutMs: 15_000 });

    const killedAt = Date.now();
    await stop(a, 'SIGKILL');
    await waitFor(() => b.has('leadership acquired'), {
      what: 'ticker b to take over',
      timeoutMs: TTL_MS + 5_000,
    });
    const takeoverMs = (b.at('leadership acquired') ?? 0) - killedAt;
    const firedBeforeB = fired().length;
    await waitFor(() => fired().filter((t) => t.fencing_token === 2).length >= 4, {
      what: 'triggers from ticker b',
      timeoutMs: 15_000,
    });
    await stop(b, 'SIGTERM');
    expect(b.child.exitCode).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await reader.close();

    // The standby takes over once the dead leader's lease runs out: within one TTL of the kill
    // (the last renewal was at most renew-interval before it), plus the standby's retry delay.
    expect(takeoverMs).toBeLessThanOrEqual(TTL_MS + 250);
    expect(takeoverMs).toBeGreaterThan(TTL_MS - 1_000 - 600);

    const triggers = fired();
    // No execution id twice on the topic, not even around the hand-over.
    const ids = triggers.map((t) => t.execution_id);
    expect(new Set(ids).size).toBe(ids.length);
    // Every nominal second from the first to the last observed is triggered (the seconds
    // while nobody led are caught up by fire_all, all within the grace period).
    const seconds = [...new Set(triggers.map((t) => t.nominal_time))].sort((x, y) => x - y);
    const first = seconds[0] ?? 0;
    const last = seconds.at(-1) ?? 0;
    expect(seconds).toEqual(Array.from({ length: (last - first) / 1_000 + 1 }, (_, i) => first + i * 1_000));
    expect(seconds.length).toBe(triggers.length);
    // Ticker a fired under token 1, ticker b under token 2, and b's firing began after a's ended.
    expect(new Set(triggers.map((t) => t.fencing_token))).toEqual(new Set([1, 2]));
    const lastOfA = Math.max(...triggers.filter((t) => t.fencing_token === 1).map((t) => t.nominal_time));
    const firstOfB = Math.min(...triggers.filter((t) => t.fencing_token === 2).map((t) => t.nominal_time));
    expect(firstOfB).toBe(lastOfA + 1_000);
    // b caught up the seconds it was not there for: their fire time is later than nominal.
    const catchUp = triggers.filter((t) => t.fencing_token === 2 && t.fire_time - t.nominal_time > 1_000);
    expect(catchUp.length).toBeGreaterThan(0);
    expect(firedBeforeB).toBeGreaterThanOrEqual(4);
    console.log(
      `failover: takeover ${takeoverMs} ms after SIGKILL (ttl ${TTL_MS} ms); ${triggers.length} seconds triggered once each; ` +
        `${catchUp.length} caught up by the new leader`,
    );
  });
});
