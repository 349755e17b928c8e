import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { duration, percentile, scheduleInWords } from '../console/src/schedule.ts';
import { consolePlugin } from '../src/plugins/console.ts';

describe('the console: schedules in words', () => {
  it.each([
    ['0 0 20 * * *', 'Asia/Shanghai', 'every day at 20:00 Asia/Shanghai'],
    ['0 20 * * *', 'Asia/Shanghai', 'every day at 20:00 Asia/Shanghai'],
    ['*/2 * * * * *', 'UTC', 'every 2 seconds (UTC)'],
    ['0 */5 * * * *', 'UTC', 'every 5 minutes (UTC)'],
    ['0 15 * * * *', 'UTC', 'every hour at minute 15 (UTC)'],
    ['0 30 9 * * 1', 'Europe/Berlin', 'every Monday at 09:30 Europe/Berlin'],
    ['0 0 8 * * 1-5', 'UTC', 'every weekday at 08:00 UTC'],
    ['0 0 3 1 * *', 'UTC', 'on day 1 of every month at 03:00 UTC'],
    ['0 0 3 1 1 *', 'UTC', 'cron 0 0 3 1 1 * (UTC)'],
  ])('%s in %s → %s', (cron, zone, words) => {
    expect(scheduleInWords(cron, zone, null)).toBe(words);
  });

  it('a one-off task, durations and the nearest-rank p95', () => {
    expect(scheduleInWords(null, 'UTC', '2026-12-01T20:00:00.000Z')).toBe('once at 01/12/2026, 20:00:00 UTC');
    expect(duration(1_250)).toBe('1.3 s');
    expect(duration(61_000)).toBe('1 min 1 s');
    expect(percentile([5, 1, 4, 2, 3, 10, 9, 8, 7, 6], 95)).toBe(10);
    expect(percentile([], 95)).toBeNull();
  });
});

describe('the console plugin', () => {
  it('serves the built page at /console/ and says how to build it when it is not', async () => {
    const built = mkdtempSync(join(tmpdir(), 'console-'));
    writeFileSync(join(built, 'index.html'), '<!doctype html><title>console</title>');
    const app = Fastify({ routerOptions: { ignoreTrailingSlash: true } });
    await app.register(consolePlugin, { root: built });
    const page = await app.inject({ url: '/console/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('<title>console</title>');
    expect((await app.inject({ url: '/console/missing.js' })).statusCode).toBe(404);
    const empty = Fastify({ routerOptions: { ignoreTrailingSlash: true } });
    await empty.register(consolePlugin, { root: mkdtempSync(join(tmpdir(), 'console-empty-')) });
    const missing = await empty.inject({ url: '/console' });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('pnpm console:build');
  });
});
