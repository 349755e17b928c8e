import { qualified } from '@openpenpal/domain';
import { SchedulerError } from '@openpenpal/errors';
import type pg from 'pg';
import { isKnownZone } from './quiet-hours.ts';

/** A recipient with their notification preferences (platform defaults where they have no row). */
export interface Recipient {
  id: string;
  email: string | null;
  isActive: boolean;
  emailEnabled: boolean;
  quietHours: string | null;
  timezone: string;
  language: string;
  inspirationChannels: readonly string[];
  webhookEnabled: boolean;
  webhookUrl: string | null;
}

export interface Directory {
  /** The users among `ids` that exist, by id. */
  load(ids: readonly string[]): Promise<Map<string, Recipient>>;
}

interface Row {
  id: string;
  email: string | null;
  is_active: boolean;
  email_enabled: boolean | null;
  has_preferences: boolean;
  quiet_hours: string | null;
  timezone: string | null;
  language: string | null;
  inspiration_channels: string[] | null;
  webhook_enabled: boolean | null;
  webhook_url: string | null;
}

/** Reads users and their notification preferences from the domain schema, one query per batch. */
export function createDirectory(pool: pg.Pool, schema: string): Directory {
  const users = qualified(schema, 'users');
  const preferences = qualified(schema, 'notification_preferences');
  const sql = `
    SELECT u.id, u.email, u.is_active, p.user_id IS NOT NULL AS has_preferences, p.email_enabled,
           p.quiet_hours, p.timezone, p.language, p.inspiration_channels, p.webhook_enabled, p.webhook_url
      FROM ${users} u LEFT JOIN ${preferences} p ON p.user_id = u.id
     WHERE u.id = ANY($1::varchar[])`;
  return {
    load: async (ids) => {
      let rows: Row[];
      try {
        rows = (await pool.query<Row>(sql, [ids])).rows;
      } catch (error) {
        throw new SchedulerError('DEPENDENCY_UNAVAILABLE', 'PostgreSQL refused the recipients query', {
          cause: error,
        });
      }
      const found = new Map<string, Recipient>();
      for (const row of rows) {
        // No preferences row: the platform's column defaults (openpenpal-domain.md §3).
        const defaults = !row.has_preferences;
        found.set(row.id, {
          id: row.id,
          email: row.email?.trim() ? row.email.trim() : null,
          isActive: row.is_active,
          emailEnabled: defaults ? true : row.email_enabled === true,
          quietHours: defaults ? '22:00-08:00' : row.quiet_hours,
          // A zone this runtime does not know reads as the platform's default zone.
          timezone: row.timezone && isKnownZone(row.timezone) ? row.timezone : 'Asia/Shanghai',
          language: row.language ?? 'zh-CN',
          inspirationChannels: row.inspiration_channels ?? ['in_app'],
          webhookEnabled: row.webhook_enabled === true,
          webhookUrl: row.webhook_url?.trim() ? row.webhook_url.trim() : null,
        });
      }
      return found;
    },
  };
}
