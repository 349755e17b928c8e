import { generateKeyPairSync } from 'node:crypto';
import type { RunningService } from '@openpenpal/service-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApiConfig } from '../src/config.ts';
import { ADMIN, SERVICE_KEY, bearer, createApiWorld, jwt, taskId, type ApiWorld } from './world.ts';

const stack = inject('stack');

describe('admin API authentication and roles', () => {
  let world: ApiWorld;
  let app: ApiWorld['api']['ops']['app'];
  beforeAll(async () => {
    world = await createApiWorld(stack);
    app = world.api.ops.app;
  });
  afterAll(async () => {
    await world.close();
  });

  const list = (headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url: '/api/v1/scheduler/tasks', headers });

  it('answers 401 UNAUTHENTICATED without a token, in the platform error shape', async () => {
    const response = await list();
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({
      error: expect.stringContaining('bearer token') as unknown,
      code: 'UNAUTHENTICATED',
      details: {},
    });
  });

  it('refuses a token signed with another secret, an unsigned one, an expired one and one with another algorithm', async () => {
    const forged = jwt(
      { sub: 'x', role: 'super_admin' },
      { secret: 'another-secret-another-secret-another' },
    );
    const unsigned = jwt({ sub: 'x', role: 'super_admin' }, { alg: 'none' });
    const expired = jwt({ sub: 'x', role: 'super_admin', exp: Math.floor(Date.now() / 1000) - 60 });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs256 = jwt(
      { sub: 'x', role: 'super_admin' },
      { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    );
    for (const token of [forged, unsigned, expired, rs256, 'not-a-jwt']) {
      const response = await list({ authorization: `Bearer ${token}` });
      expect(response.statusCode, token).toBe(401);
      expect(response.json<{ code: string }>().code).toBe('UNAUTHENTICATED');
    }
  });

  it('lets courier levels 3 and 4 read but not write, and refuses users and lower couriers with 403', async () => {
    for (const role of ['courier_level3', 'courier_level4', 'platform_admin', 'super_admin']) {
      expect((await list(bearer(role))).statusCode, role).toBe(200);
    }
    for (const role of ['user', 'courier_level1', 'courier_level2']) {
      const response = await list(bearer(role));
      expect(response.statusCode, role).toBe(403);
      expect(response.json()).toMatchObject({ code: 'FORBIDDEN', details: { role } });
    }
    const write = await app.inject({
      method: 'POST',
      url: '/api/admin/scheduler/pause',
      headers: bearer('courier_level4'),
    });
    expect(write.statusCode).toBe(403);
    const noRole = await list({ authorization: `Bearer ${jwt({ sub: 'u-1' })}` });
    expect(noRole.statusCode).toBe(403);
  });

  it('takes a service API key on the inbound routes only, and refuses an unknown key', async () => {
    const body = { letter_id: 'letter-1', scheduled_at: Date.now() + 3_600_000 };
    const ok = await app.inject({
      method: 'POST',
      url: '/api/v1/scheduler/inbound/future-letters',
      headers: { 'x-api-key': SERVICE_KEY },
      payload: body,
    });
    expect(ok.statusCode).toBe(202);
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/v1/scheduler/inbound/future-letters',
      headers: { 'x-api-key': 'guessed-key' },
      payload: body,
    });
    expect(wrong.statusCode).toBe(401);
    const keyOnAdminRoute = await list({ 'x-api-key': SERVICE_KEY });
    expect(keyOnAdminRoute.statusCode).toBe(401);
  });

  it('serves health, readiness, metrics and the docs without a token', async () => {
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({
      checks: { postgres: true, 'event-store': true, 'redis:state': true },
    });
    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body).toContain('scheduler_event_signature_failures_total');
    const docs = await app.inject({ url: '/docs/json' });
    expect(Object.keys(docs.json<{ paths: object }>().paths)).toContain('/api/v1/scheduler/tasks');
    expect((await app.inject({ url: '/docs' })).statusCode).toBeLessThan(400);
  });

  it('sets security headers, and CORS only for configured origins', async () => {
    const response = await list(ADMIN);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toBeDefined();
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/api/v1/scheduler/tasks',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  describe('with RS256 and a low rate limit', () => {
    let other: RunningService<ApiConfig>;
    let privatePem: string;
    beforeAll(async () => {
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      other = await world.startApi({
        API_JWT_ALGORITHM: 'RS256',
        API_JWT_SECRET: '',
        API_JWT_PUBLIC_KEY: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        API_RATE_LIMIT_MAX: '3',
        API_CORS_ORIGINS: 'https://admin.openpenpal.example',
      });
    });

    it('accepts RS256 tokens of its key and refuses HS256 ones', async () => {
      const good = jwt({ sub: 'a', role: 'platform_admin' }, { privateKey: privatePem });
      const ok = await other.ops.app.inject({
        url: '/api/admin/scheduler/status',
        headers: { authorization: `Bearer ${good}` },
      });
      expect(ok.statusCode).toBe(200);
      const hs = await other.ops.app.inject({ url: '/api/admin/scheduler/status', headers: ADMIN });
      expect(hs.statusCode).toBe(401);
    });

    it('limits each client on its own: 429 RATE_LIMITED with Retry-After after the limit', async () => {
      const token = jwt({ sub: 'busy-user', role: 'platform_admin' }, { privateKey: privatePem });
      const calm = jwt({ sub: 'calm-user', role: 'platform_admin' }, { privateKey: privatePem });
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        codes.push(
          (
            await other.ops.app.inject({
              url: '/api/v1/scheduler/tasks',
              headers: { authorization: `Bearer ${token}` },
            })
          ).statusCode,
        );
      }
      expect(codes).toEqual([200, 200, 200, 429]);
      const limited = await other.ops.app.inject({
        url: '/api/v1/scheduler/tasks',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED' });
      expect(limited.headers['retry-after']).toBeDefined();
      const another = await other.ops.app.inject({
        url: '/api/v1/scheduler/tasks',
        headers: { authorization: `Bearer ${calm}` },
      });
      expect(another.statusCode).toBe(200);
    });

    it('answers CORS preflights for a configured origin', async () => {
      const preflight = await other.ops.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/scheduler/tasks',
        headers: { origin: 'https://admin.openpenpal.example', 'access-control-request-method': 'GET' },
      });
      expect(preflight.headers['access-control-allow-origin']).toBe('https://admin.openpenpal.example');
    });
  });

  it('records who wrote: the token subject is the task creator', async () => {
    const id = taskId('creator');
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/scheduler/tasks',
      headers: bearer('super_admin', 'user-42'),
      payload: {
        task_id: id,
        name: 'creator check',
        task_type: 'daily_report',
        cron_expression: '0 1 * * *',
      },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ id, created_by: 'user-42' });
  });
});
