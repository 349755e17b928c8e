import { uniqueName, waitFor } from '@openpenpal/test-kit';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { BUILTIN_THEMES } from '../src/push/prompts.ts';
import { startFakePromptApi, type FakePromptApi } from './fake-prompt-api.ts';
import {
  insertPreferences,
  pushTrigger,
  startInspirationWorld,
  succeededResult,
  type InspirationWorld,
} from './support.ts';

const stack = inject('stack');
let world: InspirationWorld | undefined;
let api: FakePromptApi | undefined;

afterEach(async () => {
  await world?.close();
  await api?.close();
  world = undefined;
  api = undefined;
});

const at = (iso: string) => Date.parse(iso);
const dataOf = (w: InspirationWorld, userId: string) =>
  w.notifications.messages.filter((m) => m.value?.user_id === userId).map((m) => m.value!);

async function run(w: InspirationWorld, nominal: number) {
  const trigger = pushTrigger(nominal);
  await w.trigger(trigger);
  await waitFor(() => succeededResult(w, trigger.execution_id) !== undefined, {
    what: `the trigger for ${new Date(nominal).toISOString()}`,
    timeoutMs: 30_000,
  });
  return succeededResult(w, trigger.execution_id)!;
}

const providerEnv = (fake: FakePromptApi, extra: Record<string, string> = {}) => ({
  HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_BASE_URL: fake.baseUrl,
  HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_MODEL: 'fake-model',
  HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_MAX_ATTEMPTS: '2',
  ...extra,
});

describe('daily inspiration prompts from the provider', () => {
  it('asks the provider once per zone, sends its prompt to every user of the zone, and keeps it for a re-run', async () => {
    api = await startFakePromptApi('ok');
    world = await startInspirationWorld(stack, {
      ...providerEnv(api),
      HANDLER_WRITING_INSPIRATION_PUSH_BATCH: '2',
    });
    const tag = uniqueName('ip');
    const shanghai = [`${tag}-a`, `${tag}-b`, `${tag}-c`, `${tag}-d`, `${tag}-e`];
    await insertPreferences(world.pg, [
      ...shanghai.map((user_id, i) => ({
        user_id,
        timezone: 'Asia/Shanghai',
        language: i === 0 ? 'en-US' : 'zh-CN',
      })),
      { user_id: `${tag}-sg`, timezone: 'Asia/Singapore' },
    ]);

    // 12:00 UTC is 20:00 in both +08:00 zones: two zones, one call each (not one per user).
    const first = await run(world, at('2026-05-10T12:00:00Z'));
    expect(first).toMatchObject({ sent: 6 });
    expect(first.zones).toEqual(
      expect.arrayContaining([
        { timezone: 'Asia/Shanghai', local_date: '2026-05-10', sent: 5, source: 'provider' },
        { timezone: 'Asia/Singapore', local_date: '2026-05-10', sent: 1, source: 'provider' },
      ]),
    );
    expect(api.calls).toBe(2);
    const body = api.bodies[0] as { model: string; messages: { content: string }[] };
    expect(body.model).toBe('fake-model');
    expect(body.messages[1]!.content).toContain('zh-CN');

    // A later opt-in of the zone and a re-run of the same trigger (a new execution): no new call,
    // the newcomer gets the zone's stored prompt, nobody gets a second one.
    await insertPreferences(world.pg, [{ user_id: `${tag}-late`, timezone: 'Asia/Shanghai' }]);
    const again = await run(world, at('2026-05-10T12:00:00Z'));
    expect(again).toMatchObject({ sent: 1 });
    expect(api.calls).toBe(2);

    const zoneUsers = [...shanghai, `${tag}-late`];
    await waitFor(() => zoneUsers.every((u) => dataOf(world!, u).length === 1), {
      what: 'the zone notifications relayed',
    });
    const sent = zoneUsers.map((u) => dataOf(world!, u)[0]!);
    const prompts = new Set(sent.map((n) => n.data.prompt));
    expect(prompts.size).toBe(1);
    expect([...prompts][0]).toMatch(/^第 [12] 号提示/);
    for (const notice of sent) {
      expect(notice.data).toMatchObject({ source: 'provider', style: 'dreamy', tags: 'stars,future' });
      expect(notice.locale).toBe('zh-CN');
    }
    await waitFor(() => dataOf(world!, `${tag}-sg`).length === 1, { what: 'the Singapore notification' });
    expect(dataOf(world, `${tag}-sg`)[0]!.data.prompt).not.toBe([...prompts][0]);
  });

  it('falls back to the built-in set when the provider answers 500, then keeps that choice; an open circuit is not called', async () => {
    api = await startFakePromptApi('error');
    world = await startInspirationWorld(stack, {
      ...providerEnv(api, { HANDLER_WRITING_INSPIRATION_PUSH_BREAKER_THRESHOLD: '2' }),
    });
    const tag = uniqueName('ip');
    await insertPreferences(world.pg, [
      { user_id: `${tag}-a`, timezone: 'Asia/Shanghai' },
      { user_id: `${tag}-b`, timezone: 'Asia/Shanghai' },
    ]);
    const first = await run(world, at('2026-05-10T12:00:00Z'));
    expect(first.zones).toEqual([
      { timezone: 'Asia/Shanghai', local_date: '2026-05-10', sent: 2, source: 'builtin' },
    ]);
    expect(api.calls).toBe(2); // the first try and one retry

    // The provider is back, but the zone's day was served from the built-in set: a re-run stays so.
    api.set('ok');
    await insertPreferences(world.pg, [{ user_id: `${tag}-late`, timezone: 'Asia/Shanghai' }]);
    const again = await run(world, at('2026-05-10T12:00:00Z'));
    expect(again.zones).toEqual([
      { timezone: 'Asia/Shanghai', local_date: '2026-05-10', sent: 1, source: 'builtin' },
    ]);
    // Two consecutive failures opened the circuit: the next day is not asked (built-in at once).
    const nextDay = await run(world, at('2026-05-11T12:00:00Z'));
    expect(nextDay.zones).toEqual([
      { timezone: 'Asia/Shanghai', local_date: '2026-05-11', sent: 3, source: 'builtin' },
    ]);
    expect(api.calls).toBe(2);

    await waitFor(() => dataOf(world!, `${tag}-late`).length === 2, { what: 'the notifications relayed' });
    for (const notice of dataOf(world, `${tag}-late`)) {
      expect(notice.data.source).toBe('builtin');
      expect(BUILTIN_THEMES).toContain(notice.data.theme);
    }
  });

  it('falls back to the built-in set when the provider answers a malformed prompt, a broken body, or too late', async () => {
    api = await startFakePromptApi('malformed');
    world = await startInspirationWorld(stack, {
      ...providerEnv(api, {
        HANDLER_WRITING_INSPIRATION_PUSH_BREAKER_THRESHOLD: '10',
        HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_TIMEOUT_MS: '500',
      }),
    });
    const tag = uniqueName('ip');
    await insertPreferences(world.pg, [{ user_id: `${tag}-a`, timezone: 'Asia/Shanghai' }]);
    expect((await run(world, at('2026-05-10T12:00:00Z'))).zones).toEqual([
      { timezone: 'Asia/Shanghai', local_date: '2026-05-10', sent: 1, source: 'builtin' },
    ]);
    api.set('broken');
    expect((await run(world, at('2026-05-11T12:00:00Z'))).zones).toEqual([
      { timezone: 'Asia/Shanghai', local_date: '2026-05-11', sent: 1, source: 'builtin' },
    ]);
    expect(api.calls).toBe(4);
    // Past the 500 ms timeout: two tries, each abandoned, well before the 3 s answers.
    api.set('slow');
    const started = Date.now();
    expect((await run(world, at('2026-05-12T12:00:00Z'))).zones).toEqual([
      { timezone: 'Asia/Shanghai', local_date: '2026-05-12', sent: 1, source: 'builtin' },
    ]);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(api.calls).toBe(6);
    await waitFor(() => dataOf(world!, `${tag}-a`).length === 3, { what: 'the notifications relayed' });
    for (const notice of dataOf(world, `${tag}-a`)) {
      expect(notice.data.source).toBe('builtin');
      expect(BUILTIN_THEMES).toContain(notice.data.theme);
    }
  });
});
