import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DISCARD_LIMIT_BYTES } from '../src/plugins/body-limit.ts';
import { RawConnection } from './raw-http.ts';
import { ADMIN, createApiWorld, taskId, type ApiWorld } from './world.ts';

const stack = inject('stack');
const TASKS = '/api/v1/scheduler/tasks';

interface ErrorAnswer {
  error: string;
  code: string;
  details: { field?: string; problem?: string; problems?: { field: string }[] };
}

describe('admin API validation and errors', () => {
  let world: ApiWorld;
  let app: ApiWorld['api']['ops']['app'];
  beforeAll(async () => {
    world = await createApiWorld(stack);
    app = world.api.ops.app;
  });
  afterAll(async () => {
    await world.close();
  });

  const create = (payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: TASKS, headers: { ...ADMIN, ...headers }, payload: payload as object });
  const base = () => ({
    task_id: taskId('v'),
    name: 'validation',
    task_type: 'letter_cleanup',
    cron_expression: '0 3 * * *',
  });

  it.each([
    [{ cron_expression: '61 * * * *' }, 'cron_expression'],
    [{ cron_expression: 'every day' }, 'cron_expression'],
    [{ timezone: 'Mars/Olympus' }, 'timezone'],
    [{ max_retries: 1000 }, 'body.max_retries'],
    [{ timeout_secs: 0 }, 'body.timeout_secs'],
    [{ payload: { days_old: 'seven' } }, 'payload.days_old'],
    [{ payload: { target_status: 'deleted' } }, 'payload.target_status'],
    [{ task_type: 'send_spam' }, 'body.task_type'],
    [{ scheduled_at: Date.parse('2027-01-01T00:00:00Z') }, 'cron_expression'],
    [{ start_date: '2027-02-01T00:00:00Z', end_date: '2027-01-01T00:00:00Z' }, 'end_date'],
    [{ colour: 'blue' }, 'body'],
  ])('refuses %j with 400 VALIDATION_FAILED naming %s', async (change, field) => {
    const response = await create({ ...base(), ...change });
    expect(response.statusCode).toBe(400);
    const body = response.json<ErrorAnswer>();
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.details.field).toContain(field);
  });

  it('computes next_run_at with the ticker cron function in the task zone', async () => {
    const response = await create({ ...base(), cron_expression: '0 9 * * *', timezone: 'Asia/Shanghai' });
    expect(response.statusCode).toBe(201);
    const nextRun = Date.parse(response.json<{ next_run_at: string }>().next_run_at);
    expect(new Date(nextRun).getUTCHours()).toBe(1);
    expect(nextRun).toBeGreaterThan(Date.now());
    expect(nextRun - Date.now()).toBeLessThanOrEqual(24 * 3_600_000);
    expect(response.headers.etag).toBe('"0"');
  });

  it('updates with If-Match and answers 409 CONFLICT for a stale revision', async () => {
    const created = await create(base());
    const id = created.json<{ id: string }>().id;
    const patch = (ifMatch: string, body: object) =>
      app.inject({
        method: 'PATCH',
        url: `${TASKS}/${id}`,
        headers: { ...ADMIN, 'if-match': ifMatch },
        payload: body,
      });
    const first = await patch('"0"', { max_retries: 5 });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ max_retries: 5, revision: 1 });
    expect(first.headers.etag).toBe('"1"');
    const stale = await patch('"0"', { max_retries: 6 });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ code: 'CONFLICT', details: { expected: 0, actual: 1 } });
    const bad = await patch('yesterday', { max_retries: 6 });
    expect(bad.json<ErrorAnswer>().details.field).toBe('headers.if-match');
    const disabled = await app.inject({
      method: 'POST',
      url: `${TASKS}/${id}/disable`,
      headers: { ...ADMIN, 'if-match': '"1"' },
      payload: {},
    });
    expect(disabled.json()).toMatchObject({ changed: true, task: { is_active: false, next_run_at: null } });
    const got = await app.inject({ url: `${TASKS}/${id}`, headers: ADMIN });
    expect(got.headers.etag).toBe('"2"');
    const deleted = await app.inject({ method: 'DELETE', url: `${TASKS}/${id}`, headers: ADMIN });
    expect(deleted.statusCode).toBe(200);
    expect((await app.inject({ url: `${TASKS}/${id}`, headers: ADMIN })).statusCode).toBe(404);
  });

  it('records a create once for a repeated Idempotency-Key and answers as the first time', async () => {
    const body = base();
    const first = await create(body, { 'idempotency-key': `create-${body.task_id}` });
    const again = await create(body, { 'idempotency-key': `create-${body.task_id}` });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toMatchObject({ id: body.task_id, revision: 0 });
    const history = await app.inject({ url: `${TASKS}/${body.task_id}/history`, headers: ADMIN });
    expect(history.json<{ events: unknown[] }>().events).toHaveLength(1);
    const duplicate = await create(body);
    expect(duplicate.statusCode).toBe(409);
  });

  it('takes sort_by only from its fixed list, and bounds page_size', async () => {
    const injection = await app.inject({ url: `${TASKS}?sort_by=name;DROP TABLE tasks`, headers: ADMIN });
    expect(injection.statusCode).toBe(400);
    expect(injection.json<ErrorAnswer>().details.field).toBe('querystring.sort_by');
    expect((await app.inject({ url: `${TASKS}?page_size=101`, headers: ADMIN })).statusCode).toBe(400);
    expect((await app.inject({ url: `${TASKS}?status=sleeping`, headers: ADMIN })).statusCode).toBe(400);
    const sorted = await app.inject({
      url: `${TASKS}?sort_by=priority&sort_order=asc&page_size=5`,
      headers: ADMIN,
    });
    expect(sorted.statusCode).toBe(200);
  });

  it('refuses a body over the size limit with 413 and bad JSON with 400', async () => {
    const big = await create({ ...base(), description: 'x'.repeat(300 * 1024) });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    const broken = await app.inject({
      method: 'POST',
      url: TASKS,
      headers: { ...ADMIN, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  describe('a body over the limit, on the wire', () => {
    const HUGE = 3 * 1024 * 1024;
    const CHUNK = Buffer.alloc(64 * 1024, 'x');
    const head = (...extra: string[]) =>
      [
        `POST ${TASKS} HTTP/1.1`,
        'host: 127.0.0.1',
        `authorization: ${ADMIN.authorization}`,
        'content-type: application/json',
        ...extra,
        '',
        '',
      ].join('\r\n');
    const list = `GET ${TASKS}?page_size=1 HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: ${ADMIN.authorization}\r\n\r\n`;
    const opened: RawConnection[] = [];
    const open = async () => {
      const connection = await RawConnection.open(world.api.ops.url());
      opened.push(connection);
      return connection;
    };
    afterAll(() => {
      for (const connection of opened) connection.close();
    });

    /** The 413 with its JSON error, on a connection that then answers the next request. */
    const expectRefusedAndStillOpen = async (connection: RawConnection) => {
      const refused = await connection.answer();
      expect(refused.status).toBe(413);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      expect(refused.headers.connection).not.toBe('close');
      expect(await connection.write(list)).toBe(true);
      expect((await connection.answer()).status).toBe(200);
    };

    it('is read to its end, refused with 413, and the connection stays usable', async () => {
      const connection = await open();
      expect(await connection.write(head(`content-length: ${HUGE}`))).toBe(true);
      for (let sent = 0; sent < HUGE; sent += CHUNK.length) {
        expect(await connection.write(CHUNK), `writing at byte ${sent}`).toBe(true);
      }
      await expectRefusedAndStillOpen(connection);
    });

    it('is read to its end and refused with 413 when it comes chunked, and the connection stays usable', async () => {
      const connection = await open();
      expect(await connection.write(head('transfer-encoding: chunked'))).toBe(true);
      for (let sent = 0; sent < HUGE; sent += CHUNK.length) {
        const framed = Buffer.concat([
          Buffer.from(`${CHUNK.length.toString(16)}\r\n`),
          CHUNK,
          Buffer.from('\r\n'),
        ]);
        expect(await connection.write(framed), `writing at byte ${sent}`).toBe(true);
      }
      expect(await connection.write('0\r\n\r\n')).toBe(true);
      await expectRefusedAndStillOpen(connection);
    });

    it('is refused at once, and the connection closed, when it declares more than the discard limit', async () => {
      const connection = await open();
      expect(await connection.write(head(`content-length: ${DISCARD_LIMIT_BYTES + 1}`))).toBe(true);
      const refused = await connection.answer();
      expect(refused.status).toBe(413);
      expect(refused.headers.connection).toBe('close');
    });

    it('gets its 413 through fetch every time', async () => {
      const body = JSON.stringify({ description: 'x'.repeat(HUGE) });
      for (let attempt = 1; attempt <= 10; attempt += 1) {
        const response = await fetch(`${world.api.ops.url()}${TASKS}`, {
          method: 'POST',
          headers: { ...ADMIN, 'content-type': 'application/json' },
          body,
        });
        expect(response.status, `attempt ${attempt}`).toBe(413);
        expect(await response.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      }
    });
  });

  it('answers an unknown route and an unknown task with 404 NOT_FOUND', async () => {
    expect((await app.inject({ url: '/api/v1/nothing', headers: ADMIN })).json()).toMatchObject({
      code: 'NOT_FOUND',
    });
    const missing = await app.inject({ url: `${TASKS}/no-such-task`, headers: ADMIN });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'NOT_FOUND', details: { task_id: 'no-such-task' } });
    const cursor = await app.inject({ url: '/api/v1/scheduler/executions?cursor=garbage', headers: ADMIN });
    expect(cursor.json<ErrorAnswer>().details.field).toBe('query.cursor');
  });

  // Found by the e2e fuzzing pass (packages/e2e/src/fuzz): each answered 500 or took the bad value.
  it('refuses a path id with control characters with 400, not a database error', async () => {
    for (const url of [`${TASKS}/bad%00id/executions`, '/api/v1/scheduler/executions/bad%1bid']) {
      const response = await app.inject({ url, headers: ADMIN });
      expect(response.statusCode).toBe(400);
      expect(response.json<ErrorAnswer>().details.field).toContain('id');
    }
  });

  it('refuses a query date that is not on the calendar instead of rolling it over', async () => {
    const response = await app.inject({
      url: '/api/v1/scheduler/executions?from=2026-02-30T00:00:00Z',
      headers: ADMIN,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json<ErrorAnswer>().details.field).toBe('query.from');
  });

  it('refuses instants outside 2000-2100 at the edge, inbound events included', async () => {
    const inbound = await app.inject({
      method: 'POST',
      url: '/api/v1/scheduler/inbound/future-letters',
      headers: ADMIN,
      payload: { letter_id: 'letter-1', scheduled_at: -8.64e15 },
    });
    expect(inbound.statusCode).toBe(400);
    expect(inbound.json<ErrorAnswer>().details.field).toContain('scheduled_at');
  });

  it('names a refused delayed-message field as the body names it', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/scheduler/delayed-messages',
      headers: ADMIN,
      payload: {
        message_id: 'fuzz:seconds',
        // 2001-01-01 in epoch seconds read as milliseconds: in range, refused by the delay client.
        due_at: Date.UTC(2000, 6, 1),
        target_topic: 'scheduler.trigger.letter-cleanup',
        key: null,
        value: {},
      },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json<ErrorAnswer>().details.field).toBe('body.due_at');
  });

  it('never leaks internals in a 5xx answer', async () => {
    const pool = world.api.ctx.postgres();
    const original = pool.query.bind(pool);
    pool.query = () =>
      Promise.reject(new Error('password authentication failed for user "secret_admin" at 10.0.0.7'));
    try {
      const response = await app.inject({ url: TASKS, headers: ADMIN });
      expect(response.statusCode).toBe(500);
      expect(response.json()).toEqual({
        error: expect.any(String) as unknown,
        code: 'INTERNAL',
        details: {},
      });
      expect(response.body).not.toContain('secret_admin');
      expect(response.body).not.toContain('10.0.0.7');
    } finally {
      pool.query = original;
    }
  });

  it('checks run-now payload overrides against the task type', async () => {
    const created = await create(base());
    const id = created.json<{ id: string }>().id;
    const bad = await app.inject({
      method: 'POST',
      url: `${TASKS}/${id}/execute`,
      headers: ADMIN,
      payload: { payload_override: { days_old: -1 } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<ErrorAnswer>().details.field).toBe('payload_override.days_old');
    const ok = await app.inject({
      method: 'POST',
      url: `${TASKS}/${id}/execute`,
      headers: ADMIN,
      payload: { reason: 'test' },
    });
    expect(ok.statusCode).toBe(202);
  });
});
