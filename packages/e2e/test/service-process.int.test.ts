import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@openpenpal/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { assertPortFree } from '../src/system.ts';
import { createServiceProcess, type ServiceProcess } from '../src/service-process.ts';

const FIXTURE = fileURLToPath(new URL('fixtures/ready-server.ts', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
const logDirs = new Map<ServiceProcess, string>();
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function supervised(env: Record<string, string> = {}, restartOnExit = false): Promise<ServiceProcess> {
  const port = await freePort();
  const logDir = mkdtempSync(join(tmpdir(), 'e2e-supervisor-'));
  const proc = createServiceProcess({
    name: 'probe',
    command: process.execPath,
    args: [FIXTURE],
    cwd: logDir,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ...env },
    logDir,
    url: `http://127.0.0.1:${port}`,
    readyPath: '/readyz',
    restartOnExit,
  });
  logDirs.set(proc, logDir);
  cleanups.push(async () => {
    await proc.kill();
    proc.close();
    rmSync(logDir, { recursive: true, force: true });
  });
  return proc;
}

describe('a supervised process', () => {
  it('is ready once it answers /readyz, and SIGKILL and restart bring it back ready', async () => {
    const proc = await supervised();
    const spawnedAt = proc.start();
    const readyAt = await proc.waitReady(20_000);
    expect(readyAt).toBeGreaterThanOrEqual(spawnedAt);
    expect(proc.running).toBe(true);

    const killedAt = await proc.kill();
    expect(proc.running).toBe(false);
    expect(proc.exits.at(-1)).toMatchObject({ signal: 'SIGKILL', expected: true });
    await waitFor(() => proc.readiness.at(-1)?.state === 'down', { what: 'the readiness to see it down' });

    const readyAgain = await proc.restart({ readyTimeoutMs: 20_000 });
    expect(readyAgain).toBeGreaterThan(killedAt);
    expect(proc.readyAfter(killedAt)).toBe(readyAgain);
    expect(proc.readiness.map((r) => r.state)).toEqual(expect.arrayContaining(['ready', 'down']));
  });

  it('records an exit of its own as unexpected and, when asked, starts it again', async () => {
    const proc = await supervised({ EXIT_AFTER_MS: '1500' }, true);
    proc.start();
    await proc.waitReady(20_000);
    await waitFor(() => proc.exits.length > 0, { what: 'the exit of its own', timeoutMs: 20_000 });
    expect(proc.exits[0]).toMatchObject({ code: 3, expected: false });
    expect(proc.exits[0]?.lastLines.join('\n')).toMatch(/listening/);
    await waitFor(() => proc.running, { what: 'the supervisor to start it again', timeoutMs: 20_000 });
  });

  it('fails waitReady naming the process when it exits before it is ready and no restart is asked', async () => {
    const proc = await supervised({ PORT: 'not-a-port' });
    proc.start();
    await expect(proc.waitReady(20_000)).rejects.toThrow(/probe exited/);
  });

  it('stops with SIGTERM, and with SIGKILL after the deadline when SIGTERM is ignored', async () => {
    const graceful = await supervised();
    graceful.start();
    await graceful.waitReady(20_000);
    expect(await graceful.stop(5_000)).toEqual({ code: 0, signal: null });

    const stubborn = await supervised({ IGNORE_SIGTERM: '1' });
    stubborn.start();
    await stubborn.waitReady(20_000);
    const before = Date.now();
    expect(await stubborn.stop(500)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(Date.now() - before).toBeGreaterThanOrEqual(500);
    expect(stubborn.exits.at(-1)?.expected).toBe(true);
  });

  it('logs its output to <name>.log in the log folder', async () => {
    const proc = await supervised();
    proc.start();
    await proc.waitReady(20_000);
    await proc.stop(5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const log = readFileSync(join(logDirs.get(proc) ?? '', 'probe.log'), 'utf8');
    expect(log).toMatch(/^--- .* started \(pid \d+\)$/m);
    expect(log).toMatch(/^listening \d+$/m);
    expect(log).toMatch(/^--- .* exited \(code 0, signal null\)$/m);
    expect(proc.recentLines()).toContain(log.split('\n').find((line) => line.startsWith('listening')));
  });
});

describe('the port check', () => {
  it('fails naming the port and its service when something listens there', async () => {
    const server = createServer();
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      }),
    );
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await expect(assertPortFree(port, 'api')).rejects.toThrow(`port ${port} (api) is already in use`);
    const free = await freePort();
    await expect(assertPortFree(free, 'api')).resolves.toBeUndefined();
  });
});
