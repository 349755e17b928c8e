import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DelayRequest, TaskDefinition } from '@openpenpal/contracts';
import type { Producer } from '@openpenpal/messaging';
import type { DelayedOffer } from './records.ts';

/**
 * The run's load: delayed messages through the delay queue's request topic (Avro `DelayRequest`,
 * key and `message_id` the message's id, due 1-5 s later) at a steady rate, sent like a requester
 * that must not drop any — a failed send is retried with the same ids and due times until Kafka
 * takes it — and cron tasks firing every second, written to the definitions topic the ticker reads.
 */
export interface DelayedLoad {
  readonly offers: readonly DelayedOffer[];
  start(): void;
  /** Stops making requests, then sends what is queued until `deadline`; returns the unsent count. */
  stop(
    deadline: number,
  ): Promise<{ sends: number; failedSends: number; unsent: number; lastError: string | null }>;
}

const MAX_SEND = 1_000;
const TICK_MS = 20;
const RETRY_PAUSE_MS = 250;

export function createDelayedLoad(options: {
  producer: Producer;
  runId: string;
  requestsTopic: string;
  targetTopic: string;
  rate: number;
  delayMinMs: number;
  delayMaxMs: number;
}): DelayedLoad {
  const offers: DelayedOffer[] = [];
  const queue: number[] = [];
  const payload = Buffer.from(JSON.stringify({ run: options.runId }));
  let startedAt = 0;
  let making: NodeJS.Timeout | undefined;
  let sender: Promise<void> | undefined;
  let deadline = Number.POSITIVE_INFINITY;
  let stopping = false;
  const stats = { sends: 0, failedSends: 0, lastError: null as string | null };

  const request = (offer: DelayedOffer): DelayRequest => ({
    request_id: randomUUID(),
    requested_at: Date.now(),
    source: 'cluster-proof',
    event: {
      'org.openpenpal.scheduler.ScheduleDelayedMessage': {
        message_id: offer.id,
        due_at: offer.dueAt,
        target_topic: options.targetTopic,
        target_key: offer.id,
        headers: {},
        payload,
      },
    },
  });

  const make = (): void => {
    const now = Date.now();
    // The offered rate is a property of time, not of timer ticks (a late timer catches up).
    const owed = Math.floor(((now - startedAt) * options.rate) / 1000) - offers.length;
    const span = options.delayMaxMs - options.delayMinMs;
    for (let i = 0; i < owed; i += 1) {
      queue.push(offers.length);
      offers.push({
        id: `${options.runId}-${offers.length}`,
        dueAt: now + options.delayMinMs + Math.floor(Math.random() * span),
        acceptedAt: null,
      });
    }
  };

  const send = async (): Promise<void> => {
    while (Date.now() < deadline) {
      if (queue.length === 0) {
        if (stopping) return;
        await sleep(TICK_MS);
        continue;
      }
      const batch = queue.slice(0, MAX_SEND).map((seq) => offers[seq] as DelayedOffer);
      try {
        await options.producer.send(
          { topic: options.requestsTopic, schema: 'DelayRequest' },
          batch.map((offer) => ({ key: offer.id, value: request(offer) })),
        );
        const at = Date.now();
        for (const offer of batch) offer.acceptedAt = at;
        queue.splice(0, batch.length);
        stats.sends += 1;
      } catch (error) {
        stats.failedSends += 1;
        stats.lastError = error instanceof Error ? error.message : String(error);
        await sleep(RETRY_PAUSE_MS);
      }
    }
  };

  return {
    offers,
    start: () => {
      startedAt = Date.now();
      making = setInterval(make, TICK_MS);
      sender = send();
    },
    stop: async (until) => {
      clearInterval(making);
      stopping = true;
      deadline = until;
      await sender;
      return { ...stats, unsent: queue.length };
    },
  };
}

/**
 * A cron task firing every second, in UTC, that loses no nominal time to a misfire: `fire_all`
 * with a cap above any outage of the run, so every second is fired even after a leader change.
 * `daily_report` has no handler: its triggers only reach the run's own consumer.
 */
export function everySecondTask(
  taskId: string,
  now: number,
  active: boolean,
  revision: number,
): TaskDefinition {
  return {
    task_id: taskId,
    name: `cluster proof ${taskId}`,
    description: 'fires every second during a cluster fault run (packages/cluster-proof)',
    task_type: 'daily_report',
    priority: 'normal',
    cron_expression: '* * * * * *',
    timezone: 'UTC',
    scheduled_at: null,
    payload: '{}',
    max_retries: 0,
    timeout_secs: 60,
    is_active: active,
    start_date: null,
    end_date: null,
    max_runs: null,
    misfire_policy: 'fire_all',
    misfire_grace_ms: 60_000,
    misfire_fire_all_cap: 3_600,
    concurrency_policy: 'allow',
    revision,
    created_by: 'cluster-proof',
    created_at: now,
    updated_at: now,
  };
}
