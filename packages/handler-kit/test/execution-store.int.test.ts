import { randomUUID } from 'node:crypto';
import { createPgTestContext, type PgTestContext } from '@openpenpal/test-kit';
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

  const claim = (executionId: string, attempt: number, now: number, claimUntil = now + 10_000) =>
    store.claim({ executionId, taskType: 'daily_report', taskId: 't', attempt, now, claimUntil });

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

  it('frees an interrupted attempt for the next delivery at once', async () => {
    const id = randomUUID();
    await claim(id, 1, Date.now(), Date.now() + 600_000);
    await store.settleInterrupted(id, 1);
    expect(await claim(id, 1, Date.now() + 1_000)).toEqual({ claimed: true });
  });
});
