import { createPgTestContext, waitFor, type PgTestContext } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { tickerKeys } from '../src/redis/keys.ts';
import { loadTickerScripts } from '../src/redis/scripts.ts';
import { createRedisTickerStore } from '../src/store/redis-store.ts';
import { isFencedOut } from '../src/store/store.ts';
import { createTickerWorld, type TickerWorld } from './int-support.ts';
import { startTickerProcess, stopTickerProcess as stop, type TickerProcess } from './processes.ts';
import { definition } from './support.ts';

const stack = inject('stack');
const TTL_MS = 3_000;

describe('two ticker processes with fencing tokens from PostgreSQL', () => {
  let world: TickerWorld;
  let pg: PgTestContext;
  const processes: TickerProcess[] = [];
  beforeEach(async () => {
    world = await createTickerWorld(stack);
    pg = await createPgTestContext(stack);
  });
  afterEach(async () => {
    for (const p of processes.splice(0)) await stop(p, 'SIGKILL');
    await world.close();
    await pg.close();
  });

  function startTicker(name: string): TickerProcess {
    const url = new URL(stack.databaseUrl);
    // The test's own schema holds the tokens table.
    url.searchParams.set('options', `-c search_path=${pg.schema}`);
    const ticker = startTickerProcess(world, name, {
      TICKER_LEASE_TTL_MS: String(TTL_MS),
      TICKER_LEASE_RENEW_MS: '1000',
      TICKER_LEASE_SAFETY_MARGIN_MS: '600',
      TICKER_LEASE_TOKENS: 'postgres',
      DATABASE_URL: url.toString(),
    });
    processes.push(ticker);
    return ticker;
  }

  it('hand over within the lease TTL after a SIGKILL, under a higher token above the Redis counter, and fence the dead leader out', async () => {
    const keys = tickerKeys(world.prefix);
    // An earlier deployment handed out tokens up to 41 from the Redis counter.
    await world.redis.set(keys.fence, '41');
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
    const a = startTicker('ticker-a');
    await waitFor(() => a.has('leading'), { what: 'ticker a to lead', timeoutMs: 30_000 });
    const b = startTicker('ticker-b');
    await waitFor(() => b.has('ticker started'), { what: 'ticker b to load its table', timeoutMs: 30_000 });
    await waitFor(() => fired().filter((t) => t.fencing_token === 42).length >= 3, {
      what: 'triggers from ticker a under token 42',
      timeoutMs: 15_000,
    });
    const leaseOfA = await world.redis.get(keys.lease);
    expect(leaseOfA).toMatch(/^ticker-a\/[0-9a-f]+:42$/);

    const killedAt = Date.now();
    await stop(a, 'SIGKILL');
    await waitFor(() => b.has('leadership acquired'), {
      what: 'ticker b to take over',
      timeoutMs: TTL_MS + 5_000,
    });
    const takeoverMs = (b.at('leadership acquired') ?? 0) - killedAt;
    expect(takeoverMs).toBeLessThanOrEqual(TTL_MS + 250);
    expect(b.lines.find((l) => l.msg === 'leadership acquired')?.token).toBe(43);
    await waitFor(() => fired().filter((t) => t.fencing_token === 43).length >= 3, {
      what: 'triggers from ticker b under token 43',
      timeoutMs: 15_000,
    });

    // a's lease value can no longer change the state: b's token replaced it.
    const scripts = loadTickerScripts(world.redis);
    const store = createRedisTickerStore(world.redis, scripts, keys);
    const refusal = await store.setPause(leaseOfA ?? '', { paused: true }).catch((e: unknown) => e);
    expect(isFencedOut(refusal)).toBe(true);
    expect((await store.load()).pause.paused).toBe(false);
    const { rows } = await pg.pool.query('SELECT lease, token FROM ticker_fencing_tokens');
    expect(rows).toEqual([{ lease: keys.lease, token: '43' }]);
    expect(await world.redis.get(keys.fence)).toBe('43');

    await stop(b, 'SIGTERM');
    expect(b.child.exitCode).toBe(0);
    await reader.close();
    const ids = fired().map((t) => t.execution_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(fired().map((t) => t.fencing_token))).toEqual(new Set([42, 43]));
    console.log(`lease with PostgreSQL tokens: takeover ${takeoverMs} ms after SIGKILL (ttl ${TTL_MS} ms)`);
  });
});
