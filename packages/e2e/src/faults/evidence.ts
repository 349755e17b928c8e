import { createContracts, findTopic, unionBranch } from '@openpenpal/contracts';
import type { Kafka } from 'kafkajs';
import type { Platform } from '../client/db.ts';
import type { Copy, Evidence, ExecutionRow } from './check.ts';
import type { Ledger } from './ledger.ts';
import { DELAYED_TARGET_TOPIC } from './load.ts';
import { readSince, type Offsets, type ReadRecord } from './read-topics.ts';

/** Topics the checker reads from where they ended before the load to where they end after it. */
const TOPICS = {
  released: 'openpenpal.letters.future-letter-released',
  aiDelivered: 'openpenpal.ai.reply-delivered',
  courierTimeouts: 'openpenpal.courier.task-timeouts',
  rejections: 'openpenpal.scheduler.inbound-rejections',
  executionEvents: 'scheduler.execution-events',
  delayEvents: 'scheduler.delay-events',
  notificationEvents: 'scheduler.notifications.events',
  triggers: [
    'scheduler.trigger.letter-cleanup',
    'scheduler.trigger.future-letter-unlock',
    'scheduler.trigger.ai-penpal-reply',
    'scheduler.trigger.courier-timeout-check',
  ],
} as const;

/**
 * The topics to take the start offsets of (`endOffsets`) before the load: the effects' topics and
 * `delayedTopic`, where the load's delayed messages go (null: the load offers none).
 */
export function evidenceTopics(delayedTopic: string | null = DELAYED_TARGET_TOPIC): string[] {
  return [...(delayedTopic === null ? [] : [delayedTopic]), ...Object.values(TOPICS).flat()];
}

/** The e2e fault run's: with `e2e.faults.delayed`. */
export const ALL_TOPICS: readonly string[] = evidenceTopics();

const ms = (value: Date | null): number | null => (value === null ? null : value.getTime());

/** Reads the topics, the platform's rows, the read model and the event store into the checker's input. */
export async function gatherEvidence(options: {
  kafka: Kafka;
  platform: Platform;
  ledger: Ledger;
  from: Offsets;
  domainSchema: string;
  /** The delayed messages' target topic (`DELAYED_TARGET_TOPIC` by default; null: the load offers none). */
  delayedTopic?: string | null;
  /** Where the time went (the reads are slow on a loaded machine). */
  timings?: Record<string, number>;
}): Promise<Evidence> {
  const { ledger, platform } = options;
  const delayedTopic = options.delayedTopic === undefined ? DELAYED_TARGET_TOPIC : options.delayedTopic;
  let mark = Date.now();
  const lap = (what: string) => {
    if (options.timings) options.timings[what] = Date.now() - mark;
    mark = Date.now();
  };
  const records = await readSince(options.kafka, options.from);
  lap(`topics (${records.length} records)`);
  const contracts = createContracts();
  const decode = (record: ReadRecord): Record<string, unknown> | null => {
    const spec = findTopic(record.topic);
    if (!spec || !record.value) return null;
    try {
      return contracts.codec(spec.valueSchema).decode(record.value) as unknown as Record<string, unknown>;
    } catch {
      return null;
    }
  };
  const on = (topic: string) => records.filter((r) => r.topic === topic);
  const copy = (record: ReadRecord, key: string): Copy => ({
    key,
    messageId: record.headers['message-id'] ?? `${record.partition}/${record.offset}`,
    timestamp: record.timestamp,
  });

  const runItems = new Set(ledger.items.map((i) => i.id));
  const courierTimedOut: Copy[] = [];
  for (const record of on(TOPICS.courierTimeouts)) {
    const value = decode(record);
    const branch = value ? (unionBranch(value.event as never) as { name: string }) : undefined;
    if (branch?.name === 'org.openpenpal.platform.CourierTaskTimedOut')
      courierTimedOut.push(copy(record, record.key ?? ''));
  }
  const rejections = new Map<string, string>();
  for (const record of on(TOPICS.rejections)) {
    if (!runItems.has(record.key ?? '')) continue;
    const value = decode(record);
    rejections.set(record.key ?? '', `${String(value?.errorCode)}: ${String(value?.reason)}`);
  }

  const firstTriggers = new Map<string, number>();
  for (const topic of TOPICS.triggers) {
    for (const record of on(topic)) {
      const value = decode(record);
      if (!value || value.attempt !== 1) continue;
      const id = String(value.execution_id);
      firstTriggers.set(id, (firstTriggers.get(id) ?? 0) + 1);
    }
  }

  const topicEventIds = new Map<string, number>();
  const deliveredPerChannel = new Map<string, Set<string>>();
  for (const topic of [TOPICS.executionEvents, TOPICS.delayEvents, TOPICS.notificationEvents]) {
    for (const record of on(topic)) {
      const value = decode(record);
      if (!value) continue;
      const id = String(value.event_id);
      topicEventIds.set(id, (topicEventIds.get(id) ?? 0) + 1);
      if (topic !== TOPICS.notificationEvents) continue;
      const branch = unionBranch(value.event as never) as { name: string; value: { channel?: string } };
      if (branch.name !== 'org.openpenpal.scheduler.NotificationDelivered') continue;
      const key = `${String(value.notification_id)} ${branch.value.channel ?? ''}`;
      deliveredPerChannel.set(key, (deliveredPerChannel.get(key) ?? new Set()).add(id));
    }
  }

  lap('decode');
  const ids = [...topicEventIds.keys()];
  const storeEventIds = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 5_000) {
    const rows = await platform.rows<{ event_id: string; n: string }>(
      'SELECT event_id::text, count(*) AS n FROM event_store.events WHERE event_id = ANY($1::uuid[]) GROUP BY 1',
      [ids.slice(i, i + 5_000)],
    );
    for (const row of rows) storeEventIds.set(row.event_id, Number(row.n));
  }

  lap('event store');
  const s = `"${options.domainSchema}"`;
  const ofKind = (kind: string) =>
    ledger.items.filter((i) => i.kind === kind && i.acceptedAt > 0).map((i) => i.id);
  const letters = new Map(
    (
      await platform.rows<{ id: string; status: string; published_at: Date | null }>(
        `SELECT id, status, published_at FROM ${s}.letters WHERE id = ANY($1)`,
        [ofKind('future_letter')],
      )
    ).map((r) => [r.id, { status: r.status, publishedAt: ms(r.published_at) }]),
  );
  const aiReplies = new Map<string, { id: string; status: string }[]>();
  for (const row of await platform.rows<{ id: string; original_letter_id: string; status: string }>(
    `SELECT id::text, original_letter_id, status FROM ${s}.ai_replies WHERE original_letter_id = ANY($1)`,
    [ofKind('ai_reply')],
  )) {
    aiReplies.set(row.original_letter_id, [...(aiReplies.get(row.original_letter_id) ?? []), row]);
  }
  const courierTasks = new Map(
    (
      await platform.rows<{ id: string; timeout_count: number }>(
        `SELECT id, timeout_count FROM ${s}.courier_tasks WHERE id = ANY($1)`,
        [ofKind('courier_check')],
      )
    ).map((r) => [r.id, { timeoutCount: r.timeout_count }]),
  );
  const users = ledger.items.flatMap((i) => (i.userId ? [i.userId] : []));
  const inbox = new Map(
    (
      await platform.rows<{ user_id: string; type: string; n: string }>(
        `SELECT user_id, type, count(*) AS n FROM ${s}.notifications WHERE user_id = ANY($1) GROUP BY 1, 2`,
        [users],
      )
    ).map((r) => [`${r.user_id} ${r.type}`, Number(r.n)]),
  );

  lap('platform rows');
  const businessKeys = [
    ...ofKind('future_letter'),
    ...ofKind('courier_check'),
    ...[...aiReplies.values()].flat().map((r) => r.id),
  ];
  const executions = (
    await platform.rows<{
      execution_id: string;
      task_id: string;
      status: string;
      nominal_time: Date | null;
      started_at: Date | null;
      business_key: string | null;
    }>(
      `SELECT execution_id, task_id, status, nominal_time, started_at, business_key FROM recorder.executions
        WHERE task_id = ANY($1) OR business_key = ANY($2)`,
      [ledger.cronTasks.map((t) => t.taskId), businessKeys],
    )
  ).map((r): ExecutionRow => ({
    executionId: r.execution_id,
    taskId: r.task_id,
    status: r.status,
    nominalTime: ms(r.nominal_time),
    startedAt: ms(r.started_at),
    businessKey: r.business_key,
  }));
  const succeededEvents = new Map(
    (
      await platform.rows<{ execution_id: string; n: string }>(
        `SELECT data->>'execution_id' AS execution_id, count(*) AS n FROM event_store.events
          WHERE type = 'ExecutionSucceeded' AND stream_id = ANY($1) GROUP BY 1`,
        [executions.map((e) => `execution-${e.executionId}`)],
      )
    ).map((r) => [r.execution_id, Number(r.n)]),
  );

  lap('executions');
  return {
    delayed: delayedTopic === null ? [] : on(delayedTopic).map((r) => copy(r, r.key ?? '')),
    released: on(TOPICS.released).map((r) => copy(r, r.key ?? '')),
    aiDelivered: on(TOPICS.aiDelivered).map((r) => copy(r, r.key ?? '')),
    courierTimedOut,
    firstTriggers,
    executions,
    succeededEvents,
    letters,
    aiReplies,
    courierTasks,
    inbox,
    topicEventIds,
    storeEventIds,
    deliveredPerChannel,
    rejections,
  };
}
