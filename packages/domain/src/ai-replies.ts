import type { EncodedBatch } from '@openpenpal/messaging';
import type pg from 'pg';
import { parse, v5 } from 'uuid';
import { DOMAIN_NAMESPACE } from './ids.ts';
import { enqueueOutbox } from './outbox/outbox.ts';
import { qualified } from './schema-name.ts';
import { classifyPgError, inTransaction } from './transaction.ts';

const namespace = parse(DOMAIN_NAMESPACE);

/** The `ai_replies` id of a reply request: one row per AiReplyRequested event, however often it comes. */
export function aiReplyId(requestEventId: string): string {
  return v5(`ai_reply:${requestEventId}`, namespace);
}

/** The id of the reply letter of an `ai_replies` row: a re-run can never write a second letter. */
export function aiReplyLetterId(replyId: string): string {
  return v5(`ai_reply_letter:${replyId}`, namespace);
}

/** A reply request the handler accepted (validated, due time computed). */
export interface AiReplyRequest {
  id: string;
  requestEventId: string;
  letterId: string;
  userId: string;
  persona: string;
  timezone: string;
  requestedAt: Date;
  dueAt: Date;
}

/** The limits a request is checked against, computed by the caller in the user's zone. */
export interface AiReplyLimits {
  /** The user's local day of `requestedAt`, [start, end). */
  dayStart: Date;
  dayEnd: Date;
  dailyQuota: number;
  /** No second request for the same persona after this instant (requestedAt − cooldown). */
  cooldownSince: Date;
}

export type AiReplyRecord =
  | { outcome: 'recorded' }
  /** The same request came again (a redelivery): nothing changed; `dueAt` is the one recorded. */
  | { outcome: 'duplicate'; dueAt: Date; status: string }
  | { outcome: 'unknown_letter' }
  | { outcome: 'not_owner' }
  | { outcome: 'quota_exceeded'; used: number }
  | { outcome: 'cooldown'; lastRequestedAt: Date };

/** The user's delivery preferences that matter for the due time. */
export interface ReplyPreferences {
  quietHours: string | null;
  timezone: string;
}

/** A reply this worker claimed (`generating`, under `claimToken`), with the letter to answer. */
export interface ClaimedReply {
  id: string;
  userId: string;
  persona: string;
  letterId: string;
  letterTitle: string | null;
  letterContent: string;
  /** False when the original letter was deleted (or is gone) since the request. */
  letterExists: boolean;
  scheduledAt: Date;
  claimToken: string;
}

/** What the generation produced. */
export interface GeneratedReply {
  title: string;
  content: string;
  /** The provider or model name, or `template`. */
  provider: string;
  fallback: boolean;
}

/** A reply written and marked sent. */
export interface SentReply {
  id: string;
  userId: string;
  persona: string;
  letterId: string;
  replyLetterId: string;
  provider: string;
  fallback: boolean;
  sentAt: Date;
}

export type SentMessages = (reply: SentReply) => readonly EncodedBatch[];

export interface ReplyClaimState {
  status: string;
  scheduledAt: Date;
  claimedUntil: Date | null;
}

export interface AiReplyRepository {
  preferences(userId: string): Promise<ReplyPreferences | null>;
  /**
   * Records an accepted request as `scheduled` after checking, under a per-user lock, that the letter
   * is the user's, the daily quota and the per-persona cooldown. Idempotent on `request.id`.
   */
  record(request: AiReplyRequest, limits: AiReplyLimits): Promise<AiReplyRecord>;
  /**
   * Claims the reply `id` when it is due and `scheduled` (or its claim expired), plus up to
   * `companions` other due replies (SKIP LOCKED), for `claimMs`. The named reply, when claimed, comes
   * first; it counts as due up to `namedDueBy` (its exact trigger's time: a trigger that arrives a
   * few ms early by this clock must not leave its reply to the hourly sweep).
   */
  claim(
    id: string | null,
    now: Date,
    claimMs: number,
    companions: number,
    namedDueBy?: Date,
  ): Promise<ClaimedReply[]>;
  /** Gives a claim back (`generating` → `scheduled`) after a failed generation. */
  unclaim(reply: ClaimedReply): Promise<void>;
  /** Cancels a claimed reply (`generating` → `cancelled`): its letter is gone. False when the claim was lost. */
  cancel(reply: ClaimedReply): Promise<boolean>;
  /**
   * Writes the reply letter, marks the row `sent` and enqueues its messages, in one transaction,
   * only while the claim is still this worker's. Null when it is not (expired and taken over).
   */
  complete(
    reply: ClaimedReply,
    generated: GeneratedReply,
    now: Date,
    messages: SentMessages,
  ): Promise<SentReply | null>;
  /** The row's status, or null when there is no such row. */
  status(id: string): Promise<string | null>;
  /** The row's status, due time and claim expiry (null when not claimed), or null when there is no such row. */
  claimState(id: string): Promise<ReplyClaimState | null>;
  /** Replies due and not sent (`scheduled`, or `generating`), the backlog. */
  countDue(now: Date): Promise<number>;
}

interface ClaimedRow {
  id: string;
  user_id: string;
  persona: string;
  original_letter_id: string;
  title: string | null;
  content: string | null;
  letter_exists: boolean;
  scheduled_at: Date;
  claim_token: string;
}

const HOUR_MS = 3_600_000;

export function createAiReplyRepository(options: { pool: pg.Pool; schema: string }): AiReplyRepository {
  const { pool, schema } = options;
  const replies = qualified(schema, 'ai_replies');
  const letters = qualified(schema, 'letters');
  const preferences = qualified(schema, 'notification_preferences');

  const query = async <R extends pg.QueryResultRow>(what: string, text: string, values: unknown[]) => {
    try {
      return await pool.query<R>(text, values);
    } catch (error) {
      throw classifyPgError(what, error);
    }
  };

  return {
    preferences: async (userId) => {
      const { rows } = await query<{ quiet_hours: string | null; timezone: string }>(
        'the quiet hours of a user',
        `SELECT quiet_hours, timezone FROM ${preferences} WHERE user_id = $1`,
        [userId],
      );
      const row = rows[0];
      return row ? { quietHours: row.quiet_hours, timezone: row.timezone } : null;
    },

    record: (request, limits) =>
      inTransaction(pool, 'an AI reply request', async (client) => {
        // One user's requests are checked one at a time, even across replicas during a rebalance.
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7301))', [request.userId]);
        const existing = await client.query<{ scheduled_at: Date; status: string }>(
          `SELECT scheduled_at, status FROM ${replies} WHERE id = $1`,
          [request.id],
        );
        if (existing.rows[0]) {
          return {
            outcome: 'duplicate',
            dueAt: existing.rows[0].scheduled_at,
            status: existing.rows[0].status,
          };
        }
        const letter = await client.query<{ user_id: string }>(
          `SELECT user_id FROM ${letters} WHERE id = $1 AND deleted_at IS NULL`,
          [request.letterId],
        );
        if (!letter.rows[0]) return { outcome: 'unknown_letter' };
        if (letter.rows[0].user_id !== request.userId) return { outcome: 'not_owner' };
        const counted = `user_id = $1 AND status NOT IN ('cancelled', 'failed')`;
        const used = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${replies}
           WHERE ${counted} AND requested_at >= $2 AND requested_at < $3`,
          [request.userId, limits.dayStart, limits.dayEnd],
        );
        const usedToday = used.rows[0]?.n ?? 0;
        if (usedToday >= limits.dailyQuota) return { outcome: 'quota_exceeded', used: usedToday };
        const recent = await client.query<{ requested_at: Date }>(
          `SELECT max(requested_at) AS requested_at FROM ${replies}
           WHERE ${counted} AND persona = $2 AND requested_at > $3 AND requested_at <= $4`,
          [request.userId, request.persona, limits.cooldownSince, request.requestedAt],
        );
        const last = recent.rows[0]?.requested_at;
        if (last) return { outcome: 'cooldown', lastRequestedAt: last };
        await client.query(
          `INSERT INTO ${replies} (id, original_letter_id, persona, delay_hours, scheduled_at, created_at,
             status, user_id, requested_at, timezone, request_event_id)
           VALUES ($1, $2, $3, $4, $5, now(), 'scheduled', $6, $7, $8, $9)`,
          [
            request.id,
            request.letterId,
            request.persona,
            Math.max(0, Math.ceil((request.dueAt.getTime() - request.requestedAt.getTime()) / HOUR_MS)),
            request.dueAt,
            request.userId,
            request.requestedAt,
            request.timezone,
            request.requestEventId,
          ],
        );
        return { outcome: 'recorded' };
      }),

    claim: async (id, now, claimMs, companions, namedDueBy) => {
      const until = new Date(now.getTime() + claimMs);
      const dueBy = namedDueBy && namedDueBy > now ? namedDueBy : now;
      // Claimable: due and scheduled, or generating under a claim that expired (its worker died).
      const free = `(r.status = 'scheduled' OR (r.status = 'generating' AND r.claimed_until < $1))`;
      const claimable = `r.scheduled_at <= $1 AND ${free}`;
      const { rows } = await query<ClaimedRow>(
        'an AI reply claim',
        `WITH named AS (
           SELECT r.id FROM ${replies} AS r WHERE r.id = $3 AND r.scheduled_at <= $5 AND ${free}
           FOR UPDATE SKIP LOCKED),
         others AS (
           SELECT r.id FROM ${replies} AS r
           WHERE ${claimable} AND r.id IS DISTINCT FROM $3
           ORDER BY r.scheduled_at LIMIT $4 FOR UPDATE SKIP LOCKED),
         claimed AS (
           UPDATE ${replies} AS r SET status = 'generating', claimed_until = $2, claim_token = gen_random_uuid()::text
           WHERE r.id IN (SELECT id FROM named UNION ALL SELECT id FROM others)
           RETURNING r.id, r.user_id, r.persona, r.original_letter_id, r.scheduled_at, r.claim_token)
         SELECT c.*, l.title, l.content, (l.id IS NOT NULL AND l.deleted_at IS NULL) AS letter_exists
         FROM claimed AS c LEFT JOIN ${letters} AS l ON l.id = c.original_letter_id
         ORDER BY (c.id = $3) DESC NULLS LAST, c.scheduled_at`,
        [now, until, id, companions, dueBy],
      );
      return rows.map((row) => ({
        id: row.id,
        userId: row.user_id,
        persona: row.persona,
        letterId: row.original_letter_id,
        letterTitle: row.title,
        letterContent: row.content ?? '',
        letterExists: row.letter_exists,
        scheduledAt: row.scheduled_at,
        claimToken: row.claim_token,
      }));
    },

    unclaim: async (reply) => {
      await query(
        'an AI reply unclaim',
        `UPDATE ${replies} SET status = 'scheduled', claim_token = NULL, claimed_until = NULL
         WHERE id = $1 AND status = 'generating' AND claim_token = $2`,
        [reply.id, reply.claimToken],
      );
    },

    cancel: async (reply) => {
      const { rowCount } = await query(
        'an AI reply cancel',
        `UPDATE ${replies} SET status = 'cancelled', claim_token = NULL, claimed_until = NULL
         WHERE id = $1 AND status = 'generating' AND claim_token = $2`,
        [reply.id, reply.claimToken],
      );
      return rowCount === 1;
    },

    complete: (reply, generated, now, messages) =>
      inTransaction(pool, 'an AI reply', async (client) => {
        const replyLetterId = aiReplyLetterId(reply.id);
        const { rowCount } = await client.query(
          `UPDATE ${replies} SET status = 'sent', sent_at = $3, reply_letter_id = $4, provider = $5,
             fallback = $6, claim_token = NULL, claimed_until = NULL
           WHERE id = $1 AND status = 'generating' AND claim_token = $2`,
          [reply.id, reply.claimToken, now, replyLetterId, generated.provider, generated.fallback],
        );
        if (rowCount === 0) return null;
        await client.query(
          `INSERT INTO ${letters} (id, user_id, author_id, recipient_id, title, content, status, visibility,
             type, reply_to, metadata, created_at, updated_at)
           VALUES ($1, $2, $3, $2, $4, $5, 'delivered', 'private', 'reply', $6, $7, $8, $8)
           ON CONFLICT (id) DO NOTHING`,
          [
            replyLetterId,
            reply.userId,
            `ai_persona:${reply.persona}`,
            generated.title,
            generated.content,
            reply.letterId,
            JSON.stringify({
              ai_reply: {
                id: reply.id,
                persona: reply.persona,
                provider: generated.provider,
                fallback: generated.fallback,
              },
            }),
            now,
          ],
        );
        const sent: SentReply = {
          id: reply.id,
          userId: reply.userId,
          persona: reply.persona,
          letterId: reply.letterId,
          replyLetterId,
          provider: generated.provider,
          fallback: generated.fallback,
          sentAt: now,
        };
        await enqueueOutbox(client, schema, messages(sent));
        return sent;
      }),

    status: async (id) => {
      const { rows } = await query<{ status: string }>(
        'an AI reply status',
        `SELECT status FROM ${replies} WHERE id = $1`,
        [id],
      );
      return rows[0]?.status ?? null;
    },

    claimState: async (id) => {
      const { rows } = await query<{ status: string; scheduled_at: Date; claimed_until: Date | null }>(
        'an AI reply claim state',
        `SELECT status, scheduled_at, claimed_until FROM ${replies} WHERE id = $1`,
        [id],
      );
      const row = rows[0];
      return row
        ? { status: row.status, scheduledAt: row.scheduled_at, claimedUntil: row.claimed_until }
        : null;
    },

    countDue: async (now) => {
      const { rows } = await query<{ n: number }>(
        'the AI reply backlog count',
        `SELECT count(*)::int AS n FROM ${replies}
         WHERE status IN ('scheduled', 'generating') AND scheduled_at <= $1`,
        [now],
      );
      return rows[0]?.n ?? 0;
    },
  };
}
