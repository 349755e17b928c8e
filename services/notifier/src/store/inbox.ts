import type { NotificationChannel, NotificationPriority } from '@openpenpal/contracts';
import { qualified, type Queryable } from '@openpenpal/domain';
import { SchedulerError } from '@openpenpal/errors';
import type pg from 'pg';

export interface InboxRow {
  id: string;
  userId: string;
  type: string;
  /** `in_app` when the inbox is among the channels, else the first channel. */
  channel: NotificationChannel;
  priority: NotificationPriority;
  title: string;
  content: string;
  data: Readonly<Record<string, string>>;
  scheduledAt: number;
}

/** The platform's `notifications` table: one row per notification, whatever its channels. */
export interface Inbox {
  /** Inserts rows not yet there (`pending`); a redelivered request changes nothing. */
  insert(rows: readonly InboxRow[], now: number): Promise<void>;
  /** `sent` (with `sent_at`) once any channel delivered; a read or cancelled row is left alone. */
  markSent(ids: readonly string[], now: number, db?: Queryable): Promise<void>;
  /** `failed` with the reason, when every channel failed for good. */
  markFailed(
    failures: readonly { id: string; error: string; retries: number }[],
    now: number,
    db?: Queryable,
  ): Promise<void>;
}

function unavailable(error: unknown): never {
  throw new SchedulerError('DEPENDENCY_UNAVAILABLE', 'PostgreSQL refused the notifications write', {
    cause: error,
  });
}

export function createInbox(pool: pg.Pool, schema: string): Inbox {
  const table = qualified(schema, 'notifications');
  return {
    insert: async (rows, now) => {
      if (rows.length === 0) return;
      await pool
        .query(
          `INSERT INTO ${table} (id, user_id, type, channel, priority, title, content, data, status,
                                 scheduled_at, created_at, updated_at)
           SELECT id, user_id, type, channel, priority, title, content, data, 'pending',
                  to_timestamp(scheduled_at / 1000.0), to_timestamp($9 / 1000.0), to_timestamp($9 / 1000.0)
             FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[],
                         $6::varchar[], $7::text[], $8::jsonb[], $10::float8[])
                  AS r(id, user_id, type, channel, priority, title, content, data, scheduled_at)
           ON CONFLICT (id) DO NOTHING`,
          [
            rows.map((r) => r.id),
            rows.map((r) => r.userId),
            rows.map((r) => r.type),
            rows.map((r) => r.channel),
            rows.map((r) => r.priority),
            rows.map((r) => r.title.slice(0, 255)),
            rows.map((r) => r.content),
            rows.map((r) => JSON.stringify(r.data)),
            now,
            rows.map((r) => r.scheduledAt),
          ],
        )
        .catch(unavailable);
    },
    markSent: async (ids, now, db: Queryable = pool) => {
      if (ids.length === 0) return;
      await db
        .query(
          `UPDATE ${table} SET status = 'sent', sent_at = coalesce(sent_at, to_timestamp($2 / 1000.0)),
                  updated_at = to_timestamp($2 / 1000.0)
            WHERE id = ANY($1::varchar[]) AND status IN ('pending', 'failed')`,
          [ids, now],
        )
        .catch(unavailable);
    },
    markFailed: async (failures, now, db: Queryable = pool) => {
      if (failures.length === 0) return;
      await db
        .query(
          `UPDATE ${table} n SET status = 'failed', error_message = f.error, retry_count = f.retries,
                  updated_at = to_timestamp($4 / 1000.0)
             FROM unnest($1::varchar[], $2::text[], $3::int[]) AS f(id, error, retries)
            WHERE n.id = f.id AND n.status = 'pending'`,
          [failures.map((f) => f.id), failures.map((f) => f.error), failures.map((f) => f.retries), now],
        )
        .catch(unavailable);
    },
  };
}
