import { migrateDomain } from '@openpenpal/domain';
import { createPgTestContext, type PgTestContext } from '@openpenpal/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LETTER_STATUSES, seedDemoData } from '../src/index.ts';

const stack = inject('stack');
let pg: PgTestContext;

beforeAll(async () => {
  pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
});

afterAll(async () => {
  await pg.close();
});

describe('demo seed', () => {
  it('writes users in several zones, letters in every status and future letters due in the next minutes, once', async () => {
    const now = Date.now();
    const first = await seedDemoData(pg.pool, pg.schema, now);
    expect(first.inserted.users).toBeGreaterThanOrEqual(5);
    expect(first.inserted.couriers).toBe(4);
    expect(first.inserted.courier_tasks).toBe(4);
    const zones = await pg.pool.query<{ timezone: string }>(
      'SELECT DISTINCT timezone FROM notification_preferences',
    );
    expect(zones.rowCount).toBeGreaterThanOrEqual(4);
    const statuses = await pg.pool.query<{ status: string }>('SELECT DISTINCT status FROM letters');
    expect(statuses.rows.map((r) => r.status).sort()).toEqual([...LETTER_STATUSES].sort());
    expect(first.pendingFutureLetters).toHaveLength(5);
    for (const letter of first.pendingFutureLetters) {
      expect(letter.scheduledAt.getTime()).toBeGreaterThan(now);
      expect(letter.scheduledAt.getTime()).toBeLessThanOrEqual(now + 11 * 60_000);
    }

    expect(first.aiLetter).toMatchObject({ letterId: 'demo-ai-letter', userId: 'demo-alice' });

    // A second run adds nothing and keeps the first run's times.
    const second = await seedDemoData(pg.pool, pg.schema, now + 60_000);
    expect(Object.values(second.inserted).every((n) => n === 0)).toBe(true);
    expect(second.pendingFutureLetters).toEqual(first.pendingFutureLetters);
    expect(second.aiLetter).toEqual(first.aiLetter);
  });
});
