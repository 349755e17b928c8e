import {
  createContracts,
  type LetterMovedToCleanup,
  type NotificationRequested,
} from '@openpenpal/contracts';
import { sampleTrigger } from '@openpenpal/contracts/samples';
import { migrateDomain } from '@openpenpal/domain';
import { loadConfig, startService, type RunningService } from '@openpenpal/service-kit';
import {
  collectTopics,
  createKafkaTestContext,
  createPgTestContext,
  uniqueName,
  waitFor,
  type KafkaTestContext,
  type PgTestContext,
  type TopicCollector,
} from '@openpenpal/test-kit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { letterCleanupService } from '../src/service.ts';

const stack = inject('stack');
const contracts = createContracts();
const DAY = 24 * 60 * 60 * 1000;

let kafka: KafkaTestContext;
let pg: PgTestContext;
let env: Record<string, string>;
let service: RunningService<never>;
let events: TopicCollector<LetterMovedToCleanup>;
let notifications: TopicCollector<NotificationRequested>;

beforeAll(async () => {
  kafka = await createKafkaTestContext(stack, {});
  pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
  env = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    KAFKA_GROUP_ID: kafka.groupId('cleanup'),
    DATABASE_URL: stack.databaseUrl,
    HANDLER_DB_SCHEMA: pg.schema,
    DOMAIN_DB_SCHEMA: pg.schema,
    HANDLER_TRIGGER_TOPIC: uniqueName('t-lc-trigger'),
    HANDLER_EXECUTION_EVENTS_TOPIC: uniqueName('t-lc-exec'),
    HANDLER_DELAY_REQUESTS_TOPIC: uniqueName('t-lc-delay'),
    HANDLER_LETTER_CLEANUP_EVENTS_TOPIC: uniqueName('t-lc-events'),
    HANDLER_LETTER_CLEANUP_NOTIFICATIONS_TOPIC: uniqueName('t-lc-notify'),
    // Small batches, so a run walks several windows.
    HANDLER_LETTER_CLEANUP_BATCH: '2',
    OUTBOX_RELAY_POLL_MS: '200',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
  };
  service = (await startService(letterCleanupService, {
    config: loadConfig(letterCleanupService.configSchema, env),
    logger: pino({ level: 'silent' }),
  })) as unknown as RunningService<never>;
  events = await collectTopics(kafka.kafka, [env.HANDLER_LETTER_CLEANUP_EVENTS_TOPIC!], (b) =>
    contracts.codec('LetterMovedToCleanup').decode(b),
  );
  notifications = await collectTopics(kafka.kafka, [env.HANDLER_LETTER_CLEANUP_NOTIFICATIONS_TOPIC!], (b) =>
    contracts.codec('NotificationRequested').decode(b),
  );
});

afterAll(async () => {
  await events.close();
  await notifications.close();
  await service.close();
  await kafka.close();
  await pg.close();
});

async function runCleanup(daysOld = 7) {
  const trigger = sampleTrigger({
    task_id: 'letter_cleanup',
    task_type: 'letter_cleanup',
    payload: JSON.stringify({ days_old: daysOld }),
    source: 'run_now',
    max_retries: 0,
  });
  await service.ctx.producer.send({ topic: env.HANDLER_TRIGGER_TOPIC!, schema: 'TaskTrigger' }, [
    { key: trigger.task_id, value: trigger, messageId: trigger.execution_id },
  ]);
  return trigger;
}

async function statusOf(id: string) {
  const { rows } = await pg.pool.query<{ status: string; cleanup_at: Date | null }>(
    'SELECT status, cleanup_at FROM letters WHERE id = $1',
    [id],
  );
  return rows[0];
}

describe('letter cleanup', () => {
  it('moves old unbound drafts and generated letters, tells each author once, and leaves everything else', async () => {
    const old = new Date(Date.now() - 10 * DAY);
    const recent = new Date(Date.now() - 2 * DAY);
    const letters = [
      { id: 'a-draft-no-code', status: 'draft', created_at: old },
      { id: 'b-generated-unbound', status: 'generated', created_at: old },
      { id: 'c-draft-bound', status: 'draft', created_at: old },
      { id: 'd-draft-recent', status: 'draft', created_at: recent },
      { id: 'e-delivered-old', status: 'delivered', created_at: old },
      { id: 'f-draft-deleted', status: 'draft', created_at: old, deleted: true },
      { id: 'g-draft-no-code', status: 'draft', created_at: old },
    ];
    for (const l of letters) {
      await pg.pool.query(
        `INSERT INTO letters (id, user_id, author_id, status, created_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6)`,
        [l.id, `owner-${l.id}`, `author-${l.id}`, l.status, l.created_at, l.deleted ? new Date() : null],
      );
    }
    await pg.pool.query(
      `INSERT INTO letter_codes (id, letter_id, code, status, bound_at) VALUES
       ('code-b', 'b-generated-unbound', 'OP1', 'unactivated', NULL),
       ('code-c', 'c-draft-bound', 'OP2', 'bound', now())`,
    );

    const first = await runCleanup();
    await waitFor(() => events.messages.length === 3 && notifications.messages.length === 3, {
      what: 'three moved letters and their notices',
      timeoutMs: 30_000,
    });
    for (const id of ['a-draft-no-code', 'b-generated-unbound', 'g-draft-no-code']) {
      expect((await statusOf(id))?.status).toBe('draft_cleanup');
    }
    for (const [id, status] of [
      ['c-draft-bound', 'draft'],
      ['d-draft-recent', 'draft'],
      ['e-delivered-old', 'delivered'],
      ['f-draft-deleted', 'draft'],
    ] as const) {
      expect(await statusOf(id)).toMatchObject({ status, cleanup_at: null });
    }
    const moved = events.messages.map((m) => m.value!);
    expect(moved.find((e) => e.letterId === 'b-generated-unbound')).toMatchObject({
      authorId: 'author-b-generated-unbound',
      previousStatus: 'generated',
      executionId: first.execution_id,
    });
    const event = moved[0]!;
    expect(event.permanentDeletionAt - event.cleanupAt).toBe(7 * DAY);
    const notice = notifications.messages.find((m) => m.value?.user_id === 'author-a-draft-no-code')?.value;
    expect(notice).toMatchObject({
      type: 'letter_cleanup_notice',
      dedupe_key: 'letter_cleanup_notice:a-draft-no-code',
      data: { letter_id: 'a-draft-no-code' },
    });
    expect(notice?.data.deletion_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);

    // A second run (another execution) finds nothing new: no move, no second notice.
    await runCleanup();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(events.messages).toHaveLength(3);
    expect(notifications.messages).toHaveLength(3);
  });
});
