import { randomUUID } from 'node:crypto';
import type { SchedulerError } from '@openpenpal/errors';
import { createPgTestContext, type PgTestContext } from '@openpenpal/test-kit';
import pgLib from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createExecutionStore, type ExecutionStore } from '../src/execution-store.ts';

const stack = inject('stack');

describe('execution store', () => {
  let pg: PgTestContext;
  let store: ExecutionStore;
  beforeAll(async () => {
    pg = await createPgTestContext(stack);
    store = createExecutionStore(pg.pool, pg.schema);
    await store.migrate();
    await store.migrate();
  });
  afterAll(async () => {
    await pg.close();
  });

  const claim = (
    executionId: string,
    attempt: number,
    now: number,
    claimUntil = now + 10_000,
    token: string = randomUUID(),
  ) => store.claim({ executionId, taskType: 'daily_report', taskId: 't', attempt, now, claimUntil, token });

  it('lets exactly one of concurrent claims of an attempt run it', async () => {
    const id = randomUUID();
    const results = await Promise.all(Array.from({ length: 8 }, () => claim(id, 1, 1_000)));
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    expect(results.filter((r) => !r.claimed && 'busyUntil' in r)).toHaveLength(7);
  });

  it('hands an attempt whose worker died over once its claim expired', async () => {
    const id = randomUUID();
    expect(await claim(id, 1, 1_000, 5_000)).toEqual({ claimed: true });
    expect(await claim(id, 1, 4_000)).toEqual({ claimed: false, busyUntil: 5_000 });
    expect(await claim(id, 1, 5_000)).toEqual({ claimed: true });
  });

  it('drops a finished execution and an attempt already run, and takes the next attempt', async () => {
    const id = randomUUID();
    await claim(id, 1, 1_000);
    await store.settle(id, 1, 'retry_scheduled');
    expect(await claim(id, 1, 2_000)).toEqual({ claimed: false, status: 'retry_scheduled', attempt: 1 });
    expect(await claim(id, 2, 2_000)).toEqual({ claimed: true });
    await store.settle(id, 2, 'succeeded');
    expect(await claim(id, 3, 3_000)).toEqual({ claimed: false, status: 'succeeded', attempt: 2 });
    expect(await claim(id, 2, 3_000)).toEqual({ claimed: false, status: 'succeeded', attempt: 2 });
  });

  it('refuses a trigger the table cannot hold as invalid, never as an outage that holds its partition', async () => {
    const refused = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: unknown) => error as SchedulerError,
      );
    const attemptZero = await refused(claim(randomUUID(), 0, 1_000));
    expect(attemptZero).toMatchObject({
      code: 'VALIDATION_FAILED',
      retryable: false,
      details: { sqlState: '23514' },
    });
    const notUuid = await refused(claim('not-a-uuid', 1, 1_000));
    expect(notUuid).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false });
  });

  it('reports a PostgreSQL it cannot reach as DEPENDENCY_UNAVAILABLE', async () => {
    const url = new URL(stack.databaseUrl);
    url.port = '1';
    const pool = new pgLib.Pool({ connectionString: url.toString(), connectionTimeoutMillis: 500 });
    const unreachable = createExecutionStore(pool, pg.schema);
    try {
      await expect(
        unreachable.claim({
          executionId: randomUUID(),
          taskType: 'daily_report',
          taskId: 't',
          attempt: 1,
          now: 1,
          claimUntil: 2,
          token: 'x',
        }),
      ).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', retryable: true });
    } finally {
      await pool.end();
    }
  });

  it('frees an interrupted attempt for the next delivery at once', async () => {
    const id = randomUUID();
    await claim(id, 1, Date.now(), Date.now() + 600_000);
    await store.settleInterrupted(id, 1);
    expect(await claim(id, 1, Date.now() + 1_000)).toEqual({ claimed: true });
  });
  it('lets only the run that holds a claim renew it, even after it expired, until another run takes it', async () => {
    const id = randomUUID();
    await claim(id, 1, 1_000, 5_000, 'first');
    expect(await store.renew({ executionId: id, attempt: 1, token: 'first', claimUntil: 9_000 })).toBe(true);
    expect(await claim(id, 1, 8_000)).toEqual({ claimed: false, busyUntil: 9_000 });
    // Expired and not taken: the holder may still renew (its renewals were only late).
    expect(await store.renew({ executionId: id, attempt: 1, token: 'first', claimUntil: 20_000 })).toBe(true);
    expect(await store.renew({ executionId: id, attempt: 1, token: 'other', claimUntil: 30_000 })).toBe(
      false,
    );
    expect(await claim(id, 1, 20_000, 25_000, 'second')).toEqual({ claimed: true });
    expect(await store.renew({ executionId: id, attempt: 1, token: 'first', claimUntil: 40_000 })).toBe(
      false,
    );
    await store.settle(id, 1, 'succeeded');
    expect(await store.renew({ executionId: id, attempt: 1, token: 'second', claimUntil: 40_000 })).toBe(
      false,
    );
  });
});
