import type { EncodedBatch } from '@openpenpal/messaging';
import type pg from 'pg';
import { enqueueOutbox } from './outbox/outbox.ts';
import { qualified } from './schema-name.ts';
import { classifyPgError, inTransaction } from './transaction.ts';

/** Courier task states in which the courier still holds the letter (openpenpal-domain.md §4). */
export const ACTIVE_COURIER_TASK_STATES = ['accepted', 'collected', 'in_transit'] as const;

/** A courier as the reassignment sees it. `userId` is who is notified. */
export interface CourierRef {
  courierId: string;
  userId: string;
  level: number;
  zoneCode: string | null;
}

/** The task as it was when the check took its row lock. */
export interface CheckedTask {
  taskId: string;
  /** `courier_tasks.courier_id` as stored (the courier's id or its user id). */
  holder: string;
  courier: CourierRef | null;
  letterCode: string | null;
  opCode: string | null;
  acceptedAt: Date;
  timeoutCount: number;
}

/** What one check did; every outcome but `not_active` and `not_found` leaves a next check time. */
export type CheckOutcome =
  | { kind: 'not_found' }
  | { kind: 'not_active'; status: string }
  | { kind: 'not_due'; task: CheckedTask; nextCheckAt: Date }
  | { kind: 'reminded'; task: CheckedTask; deadline: Date; timeoutCount: number; nextCheckAt: Date }
  | {
      kind: 'reassigned';
      task: CheckedTask;
      to: CourierRef;
      reason: string;
      acceptedAt: Date;
      nextCheckAt: Date;
    }
  | {
      kind: 'escalated';
      task: CheckedTask;
      manager: CourierRef | null;
      zoneCode: string;
      reason: string;
      nextCheckAt: Date;
    };

interface CheckInput {
  taskId: string;
  now: Date;
  timeoutMs: number;
  reassignAfterReminders: number;
  /** The zone whose local day the daily cap (`max_daily_tasks`) counts in. */
  capTimezone: string;
  /** The outbox messages of an outcome (events, notifications), committed with the change. */
  messages: (outcome: CheckOutcome) => readonly EncodedBatch[];
  /** The pending exact-time check to record for a next check time (`message_id`). */
  nextCheckId: (taskId: string, dueAt: Date) => string;
}

export interface CourierTimeoutRepository {
  /** The task's status, or null when it does not exist. */
  taskStatus(taskId: string): Promise<{ status: string; acceptedAt: Date | null } | null>;
  /** Records the pending exact-time check of a task (replacing the previous one). */
  recordPendingCheck(taskId: string, messageId: string, dueAt: Date): Promise<void>;
  /** Closes a task's pending check; returns its message id when there was one to cancel. */
  closePendingCheck(taskId: string): Promise<string | null>;
  /**
   * Checks one task under its row lock: reminds its courier, reassigns it or escalates it, or does
   * nothing when it is not overdue or no longer active. The change, its outbox messages and the
   * next pending check commit together.
   */
  check(input: CheckInput): Promise<CheckOutcome>;
  /** Ids of active tasks whose next check time has come (the sweep), in id order after `afterId`. */
  overdue(input: { now: Date; timeoutMs: number; afterId: string | null; limit: number }): Promise<string[]>;
}

interface TaskRow {
  id: string;
  courier_id: string | null;
  status: string;
  accepted_at: Date | null;
  timeout_count: number;
  last_timeout_notice_at: Date | null;
  letter_code: string | null;
  op_code: string | null;
  c_id: string | null;
  c_user_id: string | null;
  c_level: number | null;
  c_zone_code: string | null;
}

interface CourierRow {
  id: string;
  user_id: string;
  level: number;
  zone_code: string | null;
}

const toCourier = (row: CourierRow): CourierRef => ({
  courierId: row.id,
  userId: row.user_id,
  level: row.level,
  zoneCode: row.zone_code,
});

export function createCourierTimeoutRepository(options: {
  pool: pg.Pool;
  schema: string;
}): CourierTimeoutRepository {
  const { pool, schema } = options;
  const tasks = qualified(schema, 'courier_tasks');
  const couriers = qualified(schema, 'couriers');
  const histories = qualified(schema, 'task_assignment_histories');
  const checks = qualified(schema, 'scheduler_courier_timeout_checks');
  const active = [...ACTIVE_COURIER_TASK_STATES];

  const writeCheck = (client: pg.PoolClient | pg.Pool, taskId: string, messageId: string, dueAt: Date) =>
    client.query(
      `INSERT INTO ${checks} (task_id, message_id, due_at, state, updated_at) VALUES ($1, $2, $3, 'pending', now())
       ON CONFLICT (task_id) DO UPDATE SET message_id = $2, due_at = $3, state = 'pending', updated_at = now()`,
      [taskId, messageId, dueAt],
    );

  /**
   * The best eligible courier (§4): approved, rating >= 3.0, under its daily cap, managing an OP-code
   * prefix the task's code lies in; level by level (building first), fewest active tasks, best rating.
   */
  const findCandidate = async (client: pg.PoolClient, task: CheckedTask, now: Date, capTimezone: string) => {
    const { rows } = await client.query<CourierRow>(
      `SELECT id, user_id, level, zone_code FROM (
         SELECT c.id, c.user_id, c.level, c.zone_code, c.rating, c.max_daily_tasks,
           (SELECT count(*) FROM ${tasks} AS a
             WHERE a.courier_id IN (c.id, c.user_id) AND a.status = ANY($4::varchar[])) AS active_tasks,
           (SELECT count(*) FROM ${tasks} AS d
             WHERE d.courier_id IN (c.id, c.user_id)
               AND d.accepted_at >= (date_trunc('day', $5::timestamptz AT TIME ZONE $6) AT TIME ZONE $6)) AS today
         FROM ${couriers} AS c
         WHERE c.status = 'approved' AND c.rating >= 3.0 AND c.level BETWEEN 1 AND 4
           AND COALESCE(c.managed_op_code_prefix, '') <> ''
           AND left($1::varchar, length(c.managed_op_code_prefix)) = c.managed_op_code_prefix
           AND c.id <> $2 AND c.user_id <> $2 AND c.id <> $3 AND c.user_id <> $3
       ) AS e
       WHERE e.today < e.max_daily_tasks
       ORDER BY e.level, e.active_tasks, e.rating DESC, e.id
       LIMIT 1`,
      [task.opCode, task.holder, task.courier?.courierId ?? task.holder, active, now, capTimezone],
    );
    return rows[0] ? toCourier(rows[0]) : null;
  };

  /** The zone's managing courier: level 2 or above, approved, the closest manager of the task's code. */
  const findManager = async (client: pg.PoolClient, task: CheckedTask) => {
    if (task.opCode === null) return null;
    const { rows } = await client.query<CourierRow>(
      `SELECT id, user_id, level, zone_code FROM ${couriers} AS c
       WHERE c.status = 'approved' AND c.level >= 2 AND COALESCE(c.managed_op_code_prefix, '') <> ''
         AND left($1::varchar, length(c.managed_op_code_prefix)) = c.managed_op_code_prefix
         AND c.id <> $2 AND c.user_id <> $2
       ORDER BY c.level, length(c.managed_op_code_prefix) DESC, c.id
       LIMIT 1`,
      [task.opCode, task.holder],
    );
    return rows[0] ? toCourier(rows[0]) : null;
  };

  const decide = async (
    client: pg.PoolClient,
    input: CheckInput,
    row: TaskRow,
  ): Promise<Exclude<CheckOutcome, { kind: 'not_found' }>> => {
    const { now, timeoutMs } = input;
    if (!active.includes(row.status as (typeof active)[number]) || row.accepted_at === null) {
      return { kind: 'not_active', status: row.status };
    }
    const task: CheckedTask = {
      taskId: row.id,
      holder: row.courier_id ?? '',
      courier:
        row.c_id === null
          ? null
          : {
              courierId: row.c_id,
              userId: row.c_user_id ?? row.c_id,
              level: row.c_level ?? 1,
              zoneCode: row.c_zone_code,
            },
      letterCode: row.letter_code,
      opCode: row.op_code,
      acceptedAt: row.accepted_at,
      timeoutCount: row.timeout_count,
    };
    // Each step (reminder, reassignment, escalation) waits one timeout period after the last one.
    const dueAt = new Date(
      Math.max(row.accepted_at.getTime(), row.last_timeout_notice_at?.getTime() ?? 0) + timeoutMs,
    );
    if (dueAt > now) return { kind: 'not_due', task, nextCheckAt: dueAt };
    const nextCheckAt = new Date(now.getTime() + timeoutMs);

    if (row.timeout_count < input.reassignAfterReminders) {
      const timeoutCount = row.timeout_count + 1;
      await client.query(
        `UPDATE ${tasks} SET timeout_count = $2, last_timeout_notice_at = $3, updated_at = $3 WHERE id = $1`,
        [row.id, timeoutCount, now],
      );
      return {
        kind: 'reminded',
        task,
        deadline: new Date(row.accepted_at.getTime() + timeoutMs),
        timeoutCount,
        nextCheckAt,
      };
    }

    const reason = `timeout: ${row.timeout_count} reminders without delivery`;
    // Reassignments run one at a time (in this schema), so two tasks never both take the last slot
    // under one courier's daily cap. They are rare (hourly at most per task).
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${schema}:courier-reassignment`]);
    const to = task.opCode === null ? null : await findCandidate(client, task, now, input.capTimezone);
    if (to !== null) {
      // The row keeps the kind of id it held (a courier id, or the courier's user id).
      const holder = task.courier !== null && task.holder === task.courier.userId ? to.userId : to.courierId;
      await client.query(
        `UPDATE ${tasks} SET courier_id = $2, accepted_at = $3, deadline = $4, timeout_count = 0,
           last_timeout_notice_at = NULL, updated_at = $3
         WHERE id = $1`,
        [row.id, holder, now, nextCheckAt],
      );
      await client.query(
        `INSERT INTO ${histories} (task_id, previous_courier_id, new_courier_id, assignment_type, reassignment_reason, created_at)
         VALUES ($1, $2, $3, 'auto_reassign', $4, $5)`,
        [row.id, task.holder, holder, reason, now],
      );
      return { kind: 'reassigned', task, to, reason, acceptedAt: now, nextCheckAt };
    }
    const manager = await findManager(client, task);
    await client.query(`UPDATE ${tasks} SET last_timeout_notice_at = $2, updated_at = $2 WHERE id = $1`, [
      row.id,
      now,
    ]);
    return {
      kind: 'escalated',
      task,
      manager,
      zoneCode: task.courier?.zoneCode ?? manager?.zoneCode ?? task.opCode ?? '',
      reason:
        task.opCode === null
          ? 'no OP code on the task to search couriers by'
          : `no eligible courier for OP code prefix of ${task.opCode.slice(0, 4)}`,
      nextCheckAt,
    };
  };

  return {
    taskStatus: async (taskId) => {
      try {
        const { rows } = await pool.query<{ status: string; accepted_at: Date | null }>(
          `SELECT status, accepted_at FROM ${tasks} WHERE id = $1`,
          [taskId],
        );
        return rows[0] ? { status: rows[0].status, acceptedAt: rows[0].accepted_at } : null;
      } catch (error) {
        throw classifyPgError('a courier task lookup', error);
      }
    },

    recordPendingCheck: async (taskId, messageId, dueAt) => {
      try {
        await writeCheck(pool, taskId, messageId, dueAt);
      } catch (error) {
        throw classifyPgError('a pending courier check', error);
      }
    },

    closePendingCheck: async (taskId) => {
      try {
        const { rows } = await pool.query<{ message_id: string }>(
          `UPDATE ${checks} SET state = 'closed', updated_at = now() WHERE task_id = $1 AND state = 'pending'
           RETURNING message_id`,
          [taskId],
        );
        return rows[0]?.message_id ?? null;
      } catch (error) {
        throw classifyPgError('closing a courier check', error);
      }
    },

    check: (input) =>
      inTransaction(pool, 'a courier timeout check', async (client) => {
        // The row lock orders the check after any delivery in flight: a task delivered just before
        // its deadline is seen delivered here, and two checks of one task run one after the other.
        const { rows } = await client.query<TaskRow>(
          `SELECT t.id, t.courier_id, t.status, t.accepted_at, t.timeout_count, t.last_timeout_notice_at,
             t.letter_code, COALESCE(NULLIF(t.pickup_op_code, ''), NULLIF(t.delivery_op_code, '')) AS op_code,
             c.id AS c_id, c.user_id AS c_user_id, c.level AS c_level, c.zone_code AS c_zone_code
           FROM ${tasks} AS t
           LEFT JOIN LATERAL (
             SELECT id, user_id, level, zone_code FROM ${couriers} AS k
             WHERE k.id = t.courier_id OR k.user_id = t.courier_id
             ORDER BY (k.id = t.courier_id) DESC LIMIT 1) AS c ON true
           WHERE t.id = $1
           FOR UPDATE OF t`,
          [input.taskId],
        );
        const row = rows[0];
        if (row === undefined) return { kind: 'not_found' } as const;
        const outcome = await decide(client, input, row);
        if (outcome.kind === 'not_active') {
          await client.query(
            `UPDATE ${checks} SET state = 'closed', updated_at = now() WHERE task_id = $1 AND state = 'pending'`,
            [input.taskId],
          );
          return outcome;
        }
        if (outcome.kind !== 'not_due') {
          await writeCheck(
            client,
            input.taskId,
            input.nextCheckId(input.taskId, outcome.nextCheckAt),
            outcome.nextCheckAt,
          );
        }
        await enqueueOutbox(client, schema, input.messages(outcome));
        return outcome;
      }),

    overdue: async ({ now, timeoutMs, afterId, limit }) => {
      try {
        const { rows } = await pool.query<{ id: string }>(
          `SELECT id FROM ${tasks}
           WHERE status = ANY($1::varchar[]) AND accepted_at IS NOT NULL
             AND GREATEST(accepted_at, COALESCE(last_timeout_notice_at, accepted_at)) <= $2::timestamptz - make_interval(secs => $3)
             AND ($4::varchar IS NULL OR id > $4::varchar)
           ORDER BY id LIMIT $5`,
          [active, now, timeoutMs / 1000, afterId, limit],
        );
        return rows.map((row) => row.id);
      } catch (error) {
        throw classifyPgError('the overdue courier tasks query', error);
      }
    },
  };
}
