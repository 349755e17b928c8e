import { SchedulerError, toError } from '@openpenpal/errors';
import { sendEncodedInTraces, type EncodedBatch, type Producer } from '@openpenpal/messaging';
import { createBackoff, sleep } from '@openpenpal/timing';
import type pg from 'pg';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { qualified } from '../schema-name.ts';
import { OUTBOX_CHANNEL } from './outbox.ts';

export interface OutboxRelayOptions {
  pool: pg.Pool;
  schema: string;
  producer: Producer;
  logger: Logger;
  registry: Registry;
  /** Rows relayed per Kafka request. */
  batchSize: number;
  /** How often the relay looks without a notification, and a standby tries to take over. */
  pollMs: number;
}

export interface OutboxRelay {
  start(): void;
  /** Stops after the batch under way is sent and deleted; safe to call twice. */
  close(): Promise<void>;
  /** Whether this process holds the relay lock now. */
  isLeader(): boolean;
}

interface OutboxRow {
  id: string;
  topic: string;
  message_key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

function metric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/** One batch per topic, rows in id order within it (Kafka keeps order per partition, never across topics). */
function toBatches(rows: readonly OutboxRow[]): EncodedBatch[] {
  const byTopic = new Map<string, EncodedBatch>();
  for (const row of rows) {
    const message = { key: row.message_key, value: row.value, headers: row.headers };
    const batch = byTopic.get(row.topic);
    if (batch) batch.messages.push(message);
    else byTopic.set(row.topic, { topic: row.topic, messages: [message] });
  }
  return [...byTopic.values()];
}

/**
 * Relays the outbox to Kafka: one relay at a time per schema (a session advisory lock, which
 * PostgreSQL frees when the holder's connection ends — a SIGKILLed relay is replaced within
 * `pollMs`), rows in id order, deleted only after Kafka acknowledged them (acks=all). A relay that
 * dies between the send and the delete sends those rows again: consumers drop the copies by their
 * `message-id`, which the rows keep. With tracing on, each send is a producer span in the trace of
 * the change that wrote the rows, so a trace shows how long they waited in the outbox.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, schema, producer, batchSize, pollMs } = options;
  const logger = options.logger.child({ component: 'outbox-relay' });
  const table = qualified(schema, 'scheduler_outbox');
  const lockName = `openpenpal-outbox:${schema}`;
  const relayed = metric(
    options.registry,
    'scheduler_outbox_relayed_total',
    () =>
      new Counter({
        name: 'scheduler_outbox_relayed_total',
        help: 'Outbox messages relayed to Kafka (acknowledged, then deleted).',
        registers: [options.registry],
      }),
  );
  const failures = metric(
    options.registry,
    'scheduler_outbox_relay_failures_total',
    () =>
      new Counter({
        name: 'scheduler_outbox_relay_failures_total',
        help: 'Relay rounds that failed (Kafka or PostgreSQL unavailable); the rows stay and are sent again.',
        registers: [options.registry],
      }),
  );
  const leaderGauge = metric(
    options.registry,
    'scheduler_outbox_relay_leader',
    () =>
      new Gauge({
        name: 'scheduler_outbox_relay_leader',
        help: '1 while this process holds the outbox relay lock.',
        registers: [options.registry],
      }),
  );

  let closed = false;
  // A function, so the loops re-read it after every await (close() flips it meanwhile).
  const open = () => !closed;
  let leader = false;
  let running: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const relayOnce = async (client: pg.PoolClient): Promise<number> => {
    const { rows } = await client.query<OutboxRow>(
      `SELECT id, topic, message_key, value, headers FROM ${table} ORDER BY id LIMIT $1`,
      [batchSize],
    );
    if (rows.length === 0) return 0;
    // Each message in a producer span of its own trace (a child of the change that wrote it).
    await sendEncodedInTraces(producer, toBatches(rows));
    await client.query(`DELETE FROM ${table} WHERE id = ANY($1::bigint[])`, [rows.map((row) => row.id)]);
    relayed.inc(rows.length);
    return rows.length;
  };

  const lead = async (client: pg.PoolClient) => {
    client.on('notification', () => wake?.());
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    while (open()) {
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
        [lockName],
      );
      if (rows[0]?.locked) break;
      await nap(pollMs);
    }
    if (!open()) return;
    leader = true;
    leaderGauge.set(1);
    logger.info({ schema }, 'outbox relay leading');
    while (open()) {
      const sent = await relayOnce(client);
      if (sent < batchSize) await nap(pollMs);
    }
  };

  const loop = async () => {
    const backoff = createBackoff({ initialDelayMs: 200, maxDelayMs: 5_000 });
    while (!closed) {
      let client: pg.PoolClient | undefined;
      let broken: Error | undefined;
      try {
        client = await pool.connect();
        // A broken connection surfaces here too; the query under way then rejects as well.
        client.on('error', (error) => {
          // The session (and with it the lock) is gone: stop counting as leader at once.
          leader = false;
          leaderGauge.set(0);
          logger.warn({ err: error }, 'outbox relay connection failed');
          wake?.();
        });
        await lead(client);
      } catch (error) {
        broken = toError(error);
        leader = false;
        leaderGauge.set(0);
        failures.inc();
        const delay = backoff.next();
        logger.warn({ err: broken, retryInMs: delay }, 'outbox relay round failed; the rows stay');
        await sleep(delay);
      } finally {
        leader = false;
        leaderGauge.set(0);
        // Never back to the pool: the session holds the lock and the LISTEN (ending it frees both).
        client?.release(broken ?? true);
      }
    }
  };

  return {
    start: () => {
      if (running) return;
      if (closed) throw new SchedulerError('SHUTTING_DOWN', 'the outbox relay is closed');
      running = loop();
    },
    close: async () => {
      closed = true;
      wake?.();
      await running;
    },
    isLeader: () => leader,
  };
}
