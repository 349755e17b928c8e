import { notificationId } from '@openpenpal/domain';
import { uniqueName, waitFor } from '@openpenpal/test-kit';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  insertPreferences,
  pushTrigger,
  runProcess,
  startInspirationWorld,
  succeededResult,
  type InspirationWorld,
} from './support.ts';

const stack = inject('stack');
let world: InspirationWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

const at = (iso: string) => Date.parse(iso);
const settle = () => new Promise((resolve) => setTimeout(resolve, 2_000));
const noticesFor = (w: InspirationWorld, userId: string) =>
  w.notifications.messages.filter((m) => m.value?.user_id === userId);

async function run(w: InspirationWorld, nominal: number, payload?: Record<string, unknown>) {
  const trigger = pushTrigger(nominal, payload);
  await w.trigger(trigger);
  await waitFor(() => succeededResult(w, trigger.execution_id) !== undefined, {
    what: `the trigger for ${new Date(nominal).toISOString()}`,
    timeoutMs: 30_000,
  });
  return succeededResult(w, trigger.execution_id)!;
}

describe('daily inspiration', () => {
  it('sends at 20:00 in Asia/Shanghai and in America/New_York, on the day the clocks change there too', async () => {
    world = await startInspirationWorld(stack);
    const tag = uniqueName('in');
    const sh = `${tag}-sh`;
    const ny = `${tag}-ny`;
    await insertPreferences(world.pg, [
      { user_id: sh, timezone: 'Asia/Shanghai' },
      { user_id: ny, timezone: 'America/New_York', language: 'en-US' },
      { user_id: `${tag}-off`, timezone: 'Asia/Shanghai', enabled: false },
      { user_id: `${tag}-gone`, timezone: 'Asia/Shanghai', active: false },
    ]);

    // 2026-03-08: New York springs forward at 02:00; Shanghai keeps +08:00.
    expect(await run(world, at('2026-03-08T12:00:00Z'))).toMatchObject({
      sent: 1,
      zones: [{ timezone: 'Asia/Shanghai', local_date: '2026-03-08', sent: 1 }],
    });
    // 20:00 EST would be 01:00 UTC; on this day 20:00 is EDT, 00:00 UTC.
    expect(await run(world, at('2026-03-09T01:00:00Z'))).toMatchObject({ sent: 0, zones: [] });
    expect(await run(world, at('2026-03-09T00:00:00Z'))).toMatchObject({
      sent: 1,
      zones: [{ timezone: 'America/New_York', local_date: '2026-03-08', sent: 1 }],
    });
    // 2026-11-01: New York falls back; 20:00 EST is 01:00 UTC the next day.
    expect(await run(world, at('2026-11-02T00:00:00Z'))).toMatchObject({ sent: 0 });
    expect(await run(world, at('2026-11-02T01:00:00Z'))).toMatchObject({
      zones: [{ timezone: 'America/New_York', local_date: '2026-11-01', sent: 1 }],
    });

    await waitFor(() => noticesFor(world!, sh).length === 1 && noticesFor(world!, ny).length === 2, {
      what: 'the notification requests relayed',
    });
    const shanghai = noticesFor(world, sh)[0]!.value!;
    expect(shanghai).toMatchObject({
      type: 'daily_inspiration',
      channels: [],
      dedupe_key: `daily_inspiration:${sh}:2026-03-08`,
      notification_id: notificationId(`daily_inspiration:${sh}:2026-03-08`),
      locale: 'zh-CN',
    });
    expect(Object.keys(shanghai.data).sort()).toEqual([
      'local_date',
      'prompt',
      'source',
      'style',
      'tags',
      'theme',
    ]);
    expect(noticesFor(world, ny).map((m) => m.value!.dedupe_key)).toEqual([
      `daily_inspiration:${ny}:2026-03-08`,
      `daily_inspiration:${ny}:2026-11-01`,
    ]);
    expect(noticesFor(world, ny)[0]!.value!.locale).toBe('en');
    expect(noticesFor(world, `${tag}-off`)).toHaveLength(0);
    expect(noticesFor(world, `${tag}-gone`)).toHaveLength(0);
  });

  it('sends one per user and local day when the trigger runs twice, is re-run after a restart, or overlaps', async () => {
    world = await startInspirationWorld(stack, { HANDLER_WRITING_INSPIRATION_PUSH_BATCH: '7' });
    const tag = uniqueName('in');
    const users = Array.from({ length: 30 }, (_, i) => ({
      user_id: `${tag}-${String(i).padStart(2, '0')}`,
      timezone: 'Asia/Shanghai',
    }));
    await insertPreferences(world.pg, users);
    const nominal = at('2026-06-01T12:00:00Z');
    // The same trigger twice, and two more executions for the same time at once.
    const same = pushTrigger(nominal);
    await world.trigger(same);
    await world.trigger(same);
    await Promise.all([world.trigger(pushTrigger(nominal)), world.trigger(pushTrigger(nominal + 60_000))]);
    await waitFor(() => world!.notifications.messages.length >= 30, {
      what: '30 requests',
      timeoutMs: 30_000,
    });
    // A restart, then a re-run (a replay is a new execution).
    await world.stopService();
    await world.startService();
    expect(await run(world, nominal)).toMatchObject({ sent: 0 });
    await settle();

    const ids = world.notifications.messages.map((m) => m.value!.notification_id);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    const { rows } = await world.pg.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM scheduler_inspiration_deliveries WHERE local_date = '2026-06-01'`,
    );
    expect(Number(rows[0]!.n)).toBe(30);
    // The next local day is a new day.
    expect(await run(world, nominal + 86_400_000)).toMatchObject({ sent: 30 });
  });

  it('skips users whose zone is not IANA with the reason recorded, and dead-letters a bad send time', async () => {
    world = await startInspirationWorld(stack);
    const tag = uniqueName('in');
    await insertPreferences(world.pg, [
      { user_id: `${tag}-mars`, timezone: 'Mars/Olympus' },
      { user_id: `${tag}-ok`, timezone: 'Asia/Shanghai' },
    ]);
    const bad = pushTrigger(at('2026-03-08T12:00:00Z'), { local_time: '25:00' });
    await world.trigger(bad);
    const result = await run(world, at('2026-03-08T12:00:00Z'));
    expect(result).toMatchObject({ sent: 1, invalid_zones: [{ timezone: 'Mars/Olympus' }] });
    expect(JSON.stringify(result.invalid_zones)).toMatch(/not an IANA time zone/);
    await waitFor(() => world!.dlq.messages.length === 1, { what: 'the bad trigger dead-lettered' });
    expect(world.dlq.messages[0]!.headers['dlq.error.code']).toBe('VALIDATION_FAILED');
    await waitFor(() => noticesFor(world!, `${tag}-ok`).length === 1, { what: 'the good user served' });
    expect(noticesFor(world, `${tag}-mars`)).toHaveLength(0);
  });

  it('sends one per user when the handler is SIGKILLed in the middle of a zone, after the redelivery and a re-run', async () => {
    world = await startInspirationWorld(stack);
    await world.stopService();
    const tag = uniqueName('in');
    const users = Array.from({ length: 3_000 }, (_, i) => ({
      user_id: `${tag}-${String(i).padStart(4, '0')}`,
      timezone: 'Asia/Shanghai',
    }));
    await insertPreferences(world.pg, users);
    const env = { ...world.env, HANDLER_WRITING_INSPIRATION_PUSH_BATCH: '20', OUTBOX_RELAY_BATCH: '10' };
    const first = runProcess(env);
    const nominal = at('2026-07-01T12:00:00Z');
    // A killed worker's claim holds a redelivered attempt for timeout_secs + 30 s.
    await world.trigger(pushTrigger(nominal, undefined, { timeout_secs: 5 }));
    await waitFor(() => world!.notifications.messages.length > 0, {
      what: 'the first relayed requests',
      timeoutMs: 60_000,
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const claimed = await world.pg.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM scheduler_inspiration_deliveries',
    );
    // Killed in the middle: some users were served, not all.
    expect(claimed.rows[0]!.n).toBeLessThan(users.length);
    // The redelivered trigger serves the rest once the dead worker's claim expired.
    await world.startService();
    await waitFor(
      () => new Set(world!.notifications.messages.map((m) => m.value?.notification_id)).size === users.length,
      { what: 'every user served', timeoutMs: 120_000 },
    );
    // A re-run (run-now for the same time) finds everyone served.
    expect(await run(world, nominal)).toMatchObject({ sent: 0 });
    await settle();
    // Copies are possible (a relay killed between the send and the delete) but share their id.
    const idsByUser = new Map<string, Set<string>>();
    for (const m of world.notifications.messages) {
      const set = idsByUser.get(m.value!.user_id) ?? new Set<string>();
      set.add(m.value!.notification_id);
      idsByUser.set(m.value!.user_id, set);
    }
    expect(idsByUser.size).toBe(users.length);
    expect([...idsByUser.values()].every((set) => set.size === 1)).toBe(true);
  });
});
