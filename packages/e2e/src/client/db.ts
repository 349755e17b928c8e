import { randomUUID } from 'node:crypto';
import pg from 'pg';

/**
 * PostgreSQL as the platform's own services use it: the scenarios write the rows those services
 * own (a user, a letter the letter service stored before announcing it, a courier task the courier
 * service assigned) and read the effects. Schema names are the stack's (`openpenpal`, `event_store`).
 */
export interface Platform {
  readonly pool: pg.Pool;
  /** A fresh id with the run's prefix, so a scenario never meets another run's rows. */
  id(label: string): string;
  /** A user with preferences: no quiet hours, in-app only, opted in to the daily inspiration when asked. */
  createUser(options?: {
    timezone?: string;
    inspiration?: boolean;
    role?: string;
    language?: string;
  }): Promise<string>;
  createLetter(letter: {
    userId: string;
    recipientId?: string | null;
    status: string;
    visibility?: string;
    scheduledAt?: Date | null;
    createdAt?: Date;
  }): Promise<string>;
  createCourier(options: { zone: string; level?: number }): Promise<{ courierId: string; userId: string }>;
  createCourierTask(task: { courierId: string; acceptedAt: Date; deadline: Date }): Promise<string>;
  row<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T | undefined>;
  rows<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export function createPlatform(databaseUrl: string, schema = 'openpenpal'): Platform {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 3 });
  // An idle client whose server went away (the fault run restarts PostgreSQL) is dropped by the pool;
  // without a listener its error would end the process. The next query gets a new connection.
  pool.on('error', () => undefined);
  const run = randomUUID().slice(0, 8);
  let seq = 0;
  const id = (label: string) => `e2e-${run}-${label}-${(seq += 1)}`;
  const t = (table: string) => `"${schema}"."${table}"`;

  return {
    pool,
    id,
    createUser: async (options = {}) => {
      const userId = id('user');
      await pool.query(
        `INSERT INTO ${t('users')} (id, username, nickname, email, role) VALUES ($1, $1, $1, $2, $3)`,
        [userId, `${userId}@e2e.openpenpal.local`, options.role ?? 'user'],
      );
      await pool.query(
        `INSERT INTO ${t('notification_preferences')}
           (user_id, quiet_hours, timezone, language, email_enabled, inspiration_enabled, inspiration_channels)
         VALUES ($1, NULL, $2, $3, false, $4, '{in_app}')`,
        [userId, options.timezone ?? 'Asia/Shanghai', options.language ?? 'en', options.inspiration ?? false],
      );
      return userId;
    },
    createLetter: async (letter) => {
      const letterId = id('letter');
      const createdAt = letter.createdAt ?? new Date();
      await pool.query(
        `INSERT INTO ${t('letters')}
           (id, user_id, author_id, recipient_id, title, content, status, visibility, scheduled_at, created_at, updated_at)
         VALUES ($1, $2, $2, $3, 'An e2e letter', 'Written by the e2e suite.', $4, $5, $6, $7, $7)`,
        [
          letterId,
          letter.userId,
          letter.recipientId ?? null,
          letter.status,
          letter.visibility ?? 'private',
          letter.scheduledAt ?? null,
          createdAt,
        ],
      );
      return letterId;
    },
    createCourier: async ({ zone, level = 1 }) => {
      const userId = id('courier-user');
      await pool.query(`INSERT INTO ${t('users')} (id, username, role) VALUES ($1, $1, $2)`, [
        userId,
        `courier_level${level}`,
      ]);
      await pool.query(
        `INSERT INTO ${t('notification_preferences')} (user_id, quiet_hours, email_enabled) VALUES ($1, NULL, false)`,
        [userId],
      );
      const courierId = id('courier');
      await pool.query(
        `INSERT INTO ${t('couriers')} (id, user_id, name, level, zone_code, managed_op_code_prefix, status, rating)
         VALUES ($1, $2, $1, $3, $4, $5, 'approved', 4.5)`,
        [courierId, userId, level, zone, zone.slice(0, 16)],
      );
      return { courierId, userId };
    },
    createCourierTask: async (task) => {
      const taskId = id('ctask');
      await pool.query(
        `INSERT INTO ${t('courier_tasks')} (id, courier_id, letter_code, status, accepted_at, deadline, pickup_op_code, delivery_op_code)
         VALUES ($1, $2, $3, 'accepted', $4, $5, 'E2E001', 'E2E002')`,
        [taskId, task.courierId, taskId.slice(-40), task.acceptedAt, task.deadline],
      );
      return taskId;
    },
    row: async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
      (await pool.query<T>(sql, params)).rows[0],
    rows: async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
      (await pool.query<T>(sql, params)).rows,
    close: () => pool.end(),
  };
}
