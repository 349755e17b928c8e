import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionEvent } from '@openpenpal/contracts';
import { createProducer, type Producer } from '@openpenpal/messaging';
import { waitFor } from '@openpenpal/test-kit';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ADMIN,
  SERVICE_KEY,
  contracts,
  createApiWorld,
  jwt,
  logger,
  taskId,
  type ApiWorld,
} from './world.ts';

const stack = inject('stack');
const BASE = '/api/v1/scheduler';
const CONSOLE = fileURLToPath(new URL('../console/', import.meta.url));
/** Screenshots of each page (git-ignored; CI keeps .cache as its artifacts). */
const ARTIFACTS = fileURLToPath(new URL('../../../.cache/console-screenshots/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('operator console in headless Chromium, against the API on the running scheduler', () => {
  let world: ApiWorld;
  let producer: Producer;
  let browser: Browser;
  let page: Page;
  let url: string;
  const fast = taskId('console-fast');
  const daily = taskId('console-daily');

  const executionsOf = async (id: string) =>
    (
      await world.api.ops.app.inject({ url: `${BASE}/executions?task_id=${id}&limit=100`, headers: ADMIN })
    ).json<{
      executions: { execution_id: string; status: string }[];
    }>().executions;
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  const row = (id: string) => page.locator(`tr[data-task-id="${id}"]`);

  beforeAll(async () => {
    await build({ configFile: join(CONSOLE, 'vite.config.ts'), logLevel: 'warn' });
    mkdirSync(ARTIFACTS, { recursive: true });
    world = await createApiWorld(stack, { ticker: true, delayQueue: true });
    url = world.api.ops.url();
    producer = createProducer({ kafka: world.kafka.kafka, contracts, logger });
    await producer.connect();
    const define = async (payload: Record<string, unknown>) => {
      const response = await world.api.ops.app.inject({
        method: 'POST',
        url: `${BASE}/tasks`,
        headers: ADMIN,
        payload: {
          task_type: 'letter_cleanup',
          payload: { days_old: 7 },
          misfire_policy: 'skip',
          ...payload,
        },
      });
      expect(response.statusCode).toBe(201);
    };
    await define({
      task_id: fast,
      name: 'console fast cleanup',
      cron_expression: '*/2 * * * * *',
      timezone: 'UTC',
    });
    await define({
      task_id: daily,
      name: 'console daily cleanup',
      cron_expression: '0 0 20 * * *',
      timezone: 'Asia/Shanghai',
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, timezoneId: 'Europe/Berlin' });
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => logger.error({ err: error }, 'console page error'));
  });

  afterAll(async () => {
    await browser.close();
    await producer.close();
    await world.close();
  });

  it('serves the console under /console/ with no data until signed in; a bad token is refused', async () => {
    const index = await world.api.ops.app.inject({ url: '/console/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    const data = await world.api.ops.app.inject({ url: `${BASE}/tasks` });
    expect(data.statusCode).toBe(401);
    await page.goto(`${url}/console/`);
    await page.fill('input[name=token]', 'not-a-token');
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('.signin .error').textContent()).toMatch(/token|auth/i);
    await shot('sign-in');
  });

  it('signs in and lists the seeded tasks with their schedule in words and both zones', async () => {
    await page.fill('input[name=token]', jwt({ sub: 'operator-1', role: 'platform_admin' }));
    await page.click('button[type=submit]');
    await page.locator(`tr[data-task-id="${daily}"]`).waitFor();
    await expect
      .poll(() => row(daily).locator('[data-testid=schedule]').textContent())
      .toBe('every day at 20:00 Asia/Shanghai');
    expect(await row(fast).locator('[data-testid=schedule]').textContent()).toBe('every 2 seconds (UTC)');
    const next = (await row(daily).locator('td').nth(3).textContent()) ?? '';
    expect(next).toContain('Europe/Berlin');
    expect(next).toMatch(/20:00:00 Asia\/Shanghai/);
    await shot('tasks');
  });

  it('shows the validation message of the API when an edit breaks a rule', async () => {
    await row(daily).getByRole('button', { name: 'Edit' }).click();
    await page.fill('[data-testid=edit-form] input[name=cron_expression]', 'not a cron');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => page.locator('[data-testid=edit-error]').textContent())
      .toMatch(/cron_expression/);
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  it('disables the fast task and the ticker stops firing it', async () => {
    await waitFor(async () => (await executionsOf(fast)).length > 0, {
      what: 'the fast task fired',
      timeoutMs: 40_000,
    });
    await row(fast).getByRole('button', { name: 'Disable' }).click();
    await expect
      .poll(() => row(fast).locator('[data-testid=active]').textContent(), { timeout: 15_000 })
      .toBe('disabled');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const before = (await executionsOf(fast)).length;
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect((await executionsOf(fast)).length).toBe(before);
  });

  it('runs a task now; its execution appears and finishes without a reload, and its timeline opens', async () => {
    await row(daily).getByRole('button', { name: 'Run now' }).click();
    await page.goto(`${url}/console/#/executions?task_id=${encodeURIComponent(daily)}`);
    const first = page.locator(`[data-testid=executions] tr[data-task-id="${daily}"]`).first();
    await first.waitFor({ timeout: 30_000 });
    const executionId = (await first.getAttribute('data-execution-id')) ?? '';
    expect(executionId).toMatch(/\S/);
    const execution = page.locator(`[data-testid=executions] tr[data-execution-id="${executionId}"]`);
    expect(await execution.locator('[data-testid=status]').textContent()).toBe('triggered');
    // The handler's part, as a handler reports it: started, then succeeded.
    const now = Date.now();
    const event = (value: ExecutionEvent['event']): ExecutionEvent => ({
      event_id: randomUUID(),
      execution_id: executionId,
      task_id: daily,
      task_type: 'letter_cleanup',
      occurred_at: now,
      worker: 'console-test-handler',
      event: value,
    });
    await producer.send({ topic: world.kafka.topics.executions!, schema: 'ExecutionEvent' }, [
      {
        key: executionId,
        value: event({ 'org.openpenpal.scheduler.ExecutionStarted': { attempt: 1, started_at: now } }),
      },
      {
        key: executionId,
        value: event({
          'org.openpenpal.scheduler.ExecutionSucceeded': {
            attempt: 1,
            succeeded_at: now + 1_250,
            duration_ms: 1_250,
            result: '{"released":3}',
          },
        }),
      },
    ]);
    // Live refresh: the same page, not reloaded, shows it finished.
    await expect
      .poll(() => execution.locator('[data-testid=status]').textContent(), { timeout: 30_000 })
      .toBe('succeeded');
    await shot('executions');
    await execution.getByRole('link').first().click();
    const timeline = page.locator('[data-testid=timeline] li');
    await expect
      .poll(async () =>
        Promise.all((await timeline.all()).map((item) => item.getAttribute('data-event-type'))),
      )
      .toEqual(['TaskTriggered', 'ExecutionStarted', 'ExecutionSucceeded']);
    expect(await timeline.nth(2).textContent()).toContain('ran 1.3 s');
    await shot('execution-timeline');
  });

  it('shows the overview (charts, scheduler state, failures) and pauses and resumes the ticker', async () => {
    await page.goto(`${url}/console/#/overview`);
    await expect.poll(() => page.locator('[data-testid=scheduler-state]').textContent()).toBe('running');
    expect(await page.locator('[data-testid=per-minute] rect').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid=p95]').textContent()).toContain('letter_cleanup');
    await shot('overview');
    await page.locator('[data-testid=pause-toggle]').click();
    await expect
      .poll(() => page.locator('[data-testid=scheduler-state]').textContent(), { timeout: 20_000 })
      .toBe('paused');
    await page.locator('[data-testid=pause-toggle]').click();
    await expect
      .poll(() => page.locator('[data-testid=scheduler-state]').textContent(), { timeout: 20_000 })
      .toBe('running');
  });

  it('shows the delay queue by target and the next due, and cancels one', async () => {
    const messageId = `console-test:${randomUUID()}`;
    const scheduled = await world.api.ops.app.inject({
      method: 'POST',
      url: `${BASE}/delayed-messages`,
      headers: { 'x-api-key': SERVICE_KEY },
      payload: {
        message_id: messageId,
        due_at: Date.now() + 3_600_000,
        target_topic: 'openpenpal.letters.future-letters',
        key: 'letter-console',
        value: {
          eventId: randomUUID(),
          occurredAt: Date.now(),
          event: {
            'org.openpenpal.platform.FutureLetterScheduled': {
              letterId: 'letter-console',
              scheduledAt: Date.now() + 7_200_000,
              timezone: null,
            },
          },
        },
      },
    });
    expect(scheduled.statusCode).toBe(202);
    await page.goto(`${url}/console/#/delays`);
    const message = page.locator(`[data-testid=delayed] tr[data-message-id="${messageId}"]`);
    await message.waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid=delay-topics]').textContent()).toContain(
      'openpenpal.letters.future-letters',
    );
    await shot('delay-queue');
    await message.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => message.count(), { timeout: 30_000 }).toBe(0);
    const left = (
      await world.api.ops.app.inject({ url: `${BASE}/delayed-messages?limit=500`, headers: ADMIN })
    ).json<{ messages: { message_id: string }[] }>().messages;
    expect(left.map((m) => m.message_id)).not.toContain(messageId);
  });

  it('fits a phone-sized window: the page never scrolls sideways (tables scroll in their box)', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const view of ['tasks', 'executions', 'overview', 'delays']) {
      await page.goto(`${url}/console/#/${view}`);
      await page.locator('main > div').waitFor();
      expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
      await shot(`narrow-${view}`);
    }
  });
});
