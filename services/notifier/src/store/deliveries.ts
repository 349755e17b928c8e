import type { NotificationChannel } from '@openpenpal/contracts';
import { qualified, type Queryable } from '@openpenpal/domain';
import { SchedulerError } from '@openpenpal/errors';
import type pg from 'pg';

/** Where one channel of one notification stands. `delivered` and `failed` are final. */
type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRecord {
  notificationId: string;
  channel: NotificationChannel;
  status: DeliveryStatus;
  /** Failed tries so far. */
  attempts: number;
}

export interface DeliveryOutcome {
  notificationId: string;
  channel: NotificationChannel;
  status: DeliveryStatus;
  attempts: number;
  at: number;
  providerMessageId?: string | null;
  error?: string | null;
}

/** The notifier's own record of each (notification, channel): what makes a redelivered request send nothing twice. */
export interface DeliveryStore {
  migrate(): Promise<void>;
  /** The records of these notifications, keyed `<id>/<channel>`. */
  load(ids: readonly string[]): Promise<Map<string, DeliveryRecord>>;
  /** Creates `pending` records for channels not yet recorded. */
  open(
    entries: readonly { notificationId: string; channel: NotificationChannel; at: number }[],
  ): Promise<void>;
  /** Records outcomes (a final status is never overwritten), on `db` (a transaction's client) when given. */
  settle(outcomes: readonly DeliveryOutcome[], db?: Queryable): Promise<void>;
}

export function deliveryKey(notificationId: string, channel: string): string {
  return `${notificationId}/${channel}`;
}

function unavailable(error: unknown): never {
  throw new SchedulerError('DEPENDENCY_UNAVAILABLE', 'PostgreSQL refused the delivery records', {
    cause: error,
  });
}

export function createDeliveryStore(pool: pg.Pool, schema: string): DeliveryStore {
  const table = qualified(schema, 'notification_deliveries');
  return {
    migrate: async () => {
      await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`).catch(async (error: unknown) => {
        // A role without CREATE on the database may still own the schema made for it.
        const exists = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
        if (exists.rowCount === 0) throw error;
      });
      await pool.query(`
        CREATE TABLE IF NOT EXISTS ${table} (
          notification_id varchar(64) NOT NULL,
          channel varchar(16) NOT NULL,
          status varchar(16) NOT NULL,
          attempts integer NOT NULL DEFAULT 0,
          provider_message_id text,
          last_error text,
          created_at timestamptz NOT NULL,
          updated_at timestamptz NOT NULL,
          delivered_at timestamptz,
          PRIMARY KEY (notification_id, channel)
        )`);
    },
    load: async (ids) => {
      const found = new Map<string, DeliveryRecord>();
      if (ids.length === 0) return found;
      const { rows } = await pool
        .query<{
          notification_id: string;
          channel: NotificationChannel;
          status: DeliveryStatus;
          attempts: number;
        }>(
          `SELECT notification_id, channel, status, attempts FROM ${table} WHERE notification_id = ANY($1::varchar[])`,
          [ids],
        )
        .catch(unavailable);
      for (const row of rows) {
        found.set(deliveryKey(row.notification_id, row.channel), {
          notificationId: row.notification_id,
          channel: row.channel,
          status: row.status,
          attempts: row.attempts,
        });
      }
      return found;
    },
    open: async (entries) => {
      if (entries.length === 0) return;
      await pool
        .query(
          `INSERT INTO ${table} (notification_id, channel, status, created_at, updated_at)
           SELECT id, channel, 'pending', to_timestamp(at / 1000.0), to_timestamp(at / 1000.0)
             FROM unnest($1::varchar[], $2::varchar[], $3::float8[]) AS e(id, channel, at)
           ON CONFLICT DO NOTHING`,
          [entries.map((e) => e.notificationId), entries.map((e) => e.channel), entries.map((e) => e.at)],
        )
        .catch(unavailable);
    },
    settle: async (outcomes, db: Queryable = pool) => {
      if (outcomes.length === 0) return;
      await db
        .query(
          `UPDATE ${table} d
              SET status = o.status, attempts = o.attempts, updated_at = to_timestamp(o.at / 1000.0),
                  provider_message_id = coalesce(o.provider_message_id, d.provider_message_id),
                  last_error = coalesce(o.error, d.last_error),
                  delivered_at = CASE WHEN o.status = 'delivered' THEN to_timestamp(o.at / 1000.0) ELSE d.delivered_at END
             FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::int[], $5::float8[], $6::text[], $7::text[])
                  AS o(id, channel, status, attempts, at, provider_message_id, error)
            WHERE d.notification_id = o.id AND d.channel = o.channel AND d.status = 'pending'`,
          [
            outcomes.map((o) => o.notificationId),
            outcomes.map((o) => o.channel),
            outcomes.map((o) => o.status),
            outcomes.map((o) => o.attempts),
            outcomes.map((o) => o.at),
            outcomes.map((o) => o.providerMessageId ?? null),
            outcomes.map((o) => o.error ?? null),
          ],
        )
        .catch(unavailable);
    },
  };
}
