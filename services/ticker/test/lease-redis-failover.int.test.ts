import { createPgTestContext, waitFor, type PgTestContext } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { tickerKeys } from '../src/redis/keys.ts';
import { createTickerWorld, type TickerWorld } from './int-support.ts';
import { startRedisPair, startRedisProxy, type RedisPair, type RedisProxy } from './lease-redis-pair.ts';
import { startTickerProcess, stopTickerProcess as stop, type TickerProcess } from './processes.ts';
import { definition } from './support.ts';

const stack = inject('stack');
const TTL_MS = 3_000;

describe('ticker processes through a Redis failover to a replica that missed the last acquisition', () => {
  let world: TickerWorld;
  let pg: PgTestContext;
  let pair: RedisPair;
  let proxy: RedisProxy;
  const processes: TickerProcess[] = [];
  beforeEach(async () => {
    world = await createTickerWorld(stack);
    pg = await createPgTestContext(stack);
    pair = await startRedisPair();
    proxy = await startRedisProxy(pair.primary.port);
  });
  afterEach(async () => {
    for (const p of processes.splice(0)) await stop(p, 'SIGKILL');
    await proxy.close();
    await pair.close();
    await world.close();
    await pg.close();
  });

  function startTicker(name: string): TickerProcess {
    const url = new URL(stack.databaseUrl);
    url.searchParams.set('options', `-c search_path=${pg.schema}`);
    const ticker = startTickerProcess(world, name, {
      REDIS_URL: proxy.url,
      REDIS_RECONNECT_MAX_MS: '200',
      TICKER_LEASE_TTL_MS: String(TTL_MS),
      TICKER_LEASE_RENEW_MS: '1000',
      TICKER_LEASE_SAFETY_MARGIN_MS: '600',
      TICKER_LEASE_TOKENS: 'postgres',
      DATABASE_URL: url.toString(),
    });
    processes.push(ticker);
    return ticker;
  }

  const acquisitions = (ticker: TickerProcess) =>
    ticker.lines.filter((l) => l.msg === 'leadership acquired').map((l) => l.token);

  it('never hands a fencing token out twice and keeps firing every second', async () => {
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
    const withToken = (token: number) => fired().filter((t) => t.fencing_token === token);
    const a = startTicker('ticker-a');
    await waitFor(() => a.has('leading'), { what: 'ticker a to lead', timeoutMs: 30_000 });
    const b = startTicker('ticker-b');
    await waitFor(() => b.has('ticker started'), { what: 'ticker b to load its table', timeoutMs: 30_000 });
    await waitFor(() => withToken(1).length >= 3, { what: 'triggers under token 1', timeoutMs: 15_000 });

    // The replica stops following (and is promoted): whatever the primary takes next, it misses.
    await pair.synced();
    await pair.promoteReplica();
    // a stops gracefully and releases; b acquires on the primary under token 2.
    await stop(a, 'SIGTERM');
    await waitFor(() => acquisitions(b).length === 1, { what: 'b to lead', timeoutMs: TTL_MS + 5_000 });
    expect(acquisitions(b)).toEqual([2]);
    await waitFor(() => withToken(2).length >= 2, { what: 'triggers under token 2', timeoutMs: 15_000 });

    // The primary dies; clients now reach the promoted replica, whose lease and counter are from
    // before b's acquisition (a's lease, counter 1). The Redis counter would hand out 2 again.
    await pair.primary.kill();
    const failedOverAt = Date.now();
    proxy.switchTo(pair.replica.port);
    await waitFor(() => acquisitions(b).length === 2, {
      what: 'b to lead again on the promoted replica',
      timeoutMs: TTL_MS + 10_000,
    });
    const recoveryMs =
      (b.lines.filter((l) => l.msg === 'leadership acquired').at(-1)?.time ?? 0) - failedOverAt;
    expect(acquisitions(b)).toEqual([2, 3]);
    expect(b.has('leadership lost')).toBe(true);
    expect(b.lines.find((l) => l.msg?.startsWith('the Redis fencing-token counter was behind'))?.token).toBe(
      3,
    );
    await waitFor(() => withToken(3).length >= 3, { what: 'triggers under token 3', timeoutMs: 15_000 });
    expect(await pair.replica.client.get(tickerKeys(world.prefix).fence)).toBe('3');

    await stop(b, 'SIGTERM');
    await reader.close();
    const triggers = fired();
    // Every token belongs to one term: a fired only under 1, b under 2 and then 3.
    expect(new Set(triggers.map((t) => t.fencing_token))).toEqual(new Set([1, 2, 3]));
    // Every nominal second from the first to the last was triggered.
    const seconds = [...new Set(triggers.map((t) => t.nominal_time))].sort((x, y) => x - y);
    const first = seconds[0] ?? 0;
    const last = seconds.at(-1) ?? 0;
    expect(seconds).toEqual(Array.from({ length: (last - first) / 1_000 + 1 }, (_, i) => first + i * 1_000));
    // The checkpoints b wrote under token 2 died with the primary, so b fires those seconds again
    // under token 3 — the same execution ids (handlers deduplicate), never a reused token.
    const again = triggers.length - seconds.length;
    for (const second of seconds) {
      const ofSecond = triggers.filter((t) => t.nominal_time === second);
      expect(new Set(ofSecond.map((t) => t.execution_id)).size).toBe(1);
      expect(new Set(ofSecond.map((t) => t.fencing_token)).size).toBe(ofSecond.length);
    }
    console.log(
      `redis failover: b led again ${recoveryMs} ms after the primary died (ttl ${TTL_MS} ms), ` +
        `${seconds.length} seconds triggered, ${again} triggered again under the new token`,
    );
  });
});
