import { inTransaction, qualified } from '@openpenpal/domain';
import type pg from 'pg';
import { DEMO_COURIERS, DEMO_USERS, demoCourierTasks, demoLetters, type DemoLetter } from './demo-data.ts';

export interface SeedResult {
  /** Rows inserted now per table (0 everywhere on a second run). */
  inserted: Record<string, number>;
  /** The demo's future letters still waiting for their release, for the FutureLetterScheduled events. */
  pendingFutureLetters: { letterId: string; scheduledAt: Date }[];
  /** The letter the demo asks the AI pen pal to answer, with the time it was first seeded. */
  aiLetter: { letterId: string; userId: string; writtenAt: Date } | null;
}

const BOUND = new Set(['collected', 'in_transit', 'delivered', 'read']);

/**
 * Writes the demo's rows into `schema` in one transaction, each with `ON CONFLICT DO NOTHING`: a
 * second run adds nothing and changes nothing (a released demo letter stays released).
 */
export async function seedDemoData(pool: pg.Pool, schema: string, now: number): Promise<SeedResult> {
  const t = (table: string) => qualified(schema, table);
  const letters = demoLetters(now);
  return inTransaction(pool, 'the demo seed', async (client) => {
    const inserted: Record<string, number> = {};
    const count = async (table: string, result: Promise<pg.QueryResult>) => {
      inserted[table] = (inserted[table] ?? 0) + ((await result).rowCount ?? 0);
    };
    await count(
      'users',
      client.query(
        `INSERT INTO ${t('users')} (id, username, nickname, email, role)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
         ON CONFLICT DO NOTHING`,
        [
          DEMO_USERS.map((u) => u.id),
          DEMO_USERS.map((u) => u.username),
          DEMO_USERS.map((u) => u.nickname),
          DEMO_USERS.map((u) => u.email),
          DEMO_USERS.map((u) => u.role),
        ],
      ),
    );
    for (const u of DEMO_USERS) {
      await count(
        'notification_preferences',
        client.query(
          `INSERT INTO ${t('notification_preferences')}
             (user_id, quiet_hours, timezone, language, inspiration_enabled, inspiration_channels)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
          [
            u.id,
            u.quietHours === '' ? null : u.quietHours,
            u.timezone,
            u.language,
            u.inspiration,
            u.channels,
          ],
        ),
      );
    }
    await count('letters', insertLetters(client, t('letters'), letters));
    const coded = letters.filter((l) => BOUND.has(l.status) || l.status === 'generated');
    await count(
      'letter_codes',
      client.query(
        `INSERT INTO ${t('letter_codes')} (id, letter_id, code, status, bound_at)
         SELECT 'code-' || id, id, code, status, CASE WHEN status = 'unactivated' THEN NULL ELSE $4::timestamptz END
         FROM unnest($1::text[], $2::text[], $3::text[]) AS c(id, code, status)
         ON CONFLICT DO NOTHING`,
        [
          coded.map((l) => l.id),
          coded.map((_, i) => `PK5F3D${String(10 + i).padStart(2, '0')}`),
          coded.map((l) => (l.status === 'generated' ? 'unactivated' : 'bound')),
          new Date(now - 24 * 60 * 60 * 1000),
        ],
      ),
    );
    await count(
      'couriers',
      client.query(
        `INSERT INTO ${t('couriers')} (id, user_id, name, level, zone_code, parent_id, managed_op_code_prefix, status, rating)
         SELECT id, user_id, name, level, zone, parent, prefix, 'approved', rating
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::numeric[])
           AS c(id, user_id, name, level, zone, parent, prefix, rating)
         ON CONFLICT DO NOTHING`,
        [
          DEMO_COURIERS.map((c) => c.id),
          DEMO_COURIERS.map((c) => c.userId),
          DEMO_COURIERS.map((c) => c.name),
          DEMO_COURIERS.map((c) => c.level),
          DEMO_COURIERS.map((c) => c.zoneCode),
          DEMO_COURIERS.map((c) => c.parentId),
          DEMO_COURIERS.map((c) => c.prefix),
          DEMO_COURIERS.map((c) => c.rating),
        ],
      ),
    );
    const tasks = demoCourierTasks(now);
    await count(
      'courier_tasks',
      client.query(
        `INSERT INTO ${t('courier_tasks')} (id, courier_id, letter_code, status, accepted_at, deadline, pickup_op_code, delivery_op_code)
         SELECT id, courier, code, status, accepted, deadline, 'PK5F3D', 'PK5F2A'
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[])
           AS k(id, courier, code, status, accepted, deadline)
         ON CONFLICT DO NOTHING`,
        [
          tasks.map((k) => k.id),
          tasks.map((k) => k.courierId),
          tasks.map((k) => k.letterCode),
          tasks.map((k) => k.status),
          tasks.map((k) => k.acceptedAt),
          tasks.map((k) => k.deadline),
        ],
      ),
    );
    const { rows } = await client.query<{ id: string; scheduled_at: Date }>(
      `SELECT id, scheduled_at FROM ${t('letters')}
       WHERE id LIKE 'demo-future-%' AND status = 'scheduled' ORDER BY scheduled_at`,
    );
    const ai = await client.query<{ id: string; user_id: string; created_at: Date }>(
      `SELECT id, user_id, created_at FROM ${t('letters')} WHERE id = 'demo-ai-letter'`,
    );
    const aiRow = ai.rows[0];
    return {
      inserted,
      pendingFutureLetters: rows.map((row) => ({ letterId: row.id, scheduledAt: row.scheduled_at })),
      aiLetter: aiRow ? { letterId: aiRow.id, userId: aiRow.user_id, writtenAt: aiRow.created_at } : null,
    };
  });
}

function insertLetters(client: pg.PoolClient, table: string, letters: readonly DemoLetter[]) {
  return client.query(
    `INSERT INTO ${table} (id, user_id, author_id, recipient_id, title, content, status, visibility, scheduled_at, created_at, updated_at)
     SELECT id, user_id, user_id, recipient_id, title, 'Demo content.', status, visibility, scheduled_at, created_at, created_at
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[])
       AS l(id, user_id, recipient_id, title, status, visibility, scheduled_at, created_at)
     ON CONFLICT DO NOTHING`,
    [
      letters.map((l) => l.id),
      letters.map((l) => l.userId),
      letters.map((l) => l.recipientId),
      letters.map((l) => l.title),
      letters.map((l) => l.status),
      letters.map((l) => l.visibility),
      letters.map((l) => l.scheduledAt),
      letters.map((l) => l.createdAt),
    ],
  );
}
