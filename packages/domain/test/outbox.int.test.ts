import { createContracts } from '@openpenpal/contracts';
import { sampleTrigger } from '@openpenpal/contracts/samples';
import { createProducer, type Producer } from '@openpenpal/messaging';
import {
  collectTopics,
  createKafkaTestContext,
  createPgTestContext,
  waitFor,
  type KafkaTestContext,
  type PgTestContext,
} from '@openpenpal/test-kit';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  createOutboxRelay,
  enqueueOutbox,
  inTransaction,
  migrateDomain,
  type OutboxRelay,
} from '../src/index.ts';

const stack = inject('stack');
const contracts = createContracts();
const logger = pino({ level: 'silent' });

let kafka: KafkaTestContext;
let pg: PgTestContext;
let producer: Producer;
let topic: string;
const relays: OutboxRelay[] = [];

beforeEach(async () => {
  kafka = await createKafkaTestContext(stack, { out: 3 });
  topic = kafka.topics.out!;
  pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
  producer = createProducer({ kafka: kafka.kafka, contracts, logger });
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.close()));
  await producer.close();
  await kafka.close();
  await pg.close();
});

function relay(pollMs = 200) {
  const r = createOutboxRelay({
    pool: pg.pool,
    schema: pg.schema,
    producer,
    logger,
    registry: new Registry(),
    batchSize: 7,
    pollMs,
  });
  r.start();
  relays.push(r);
  return r;
}

/** Adds `n` messages keyed `key` numbered from `from` in one transaction (rolled back when `fail`). */
async function change(key: string, from: number, n: number, fail = false) {
  await inTransaction(pg.pool, 'a test change', async (client) => {
    const batch = producer.encode({ topic, schema: 'TaskTrigger' }, [
      ...Array.from({ length: n }, (_, i) => ({
        key,
        value: sampleTrigger({ task_id: key, attempt: from + i }),
      })),
    ]);
    await enqueueOutbox(client, pg.schema, [batch]);
    if (fail) throw new Error('the change failed');
  }).catch((error: unknown) => {
    if (!fail) throw error;
  });
}

describe('transactional outbox', () => {
  it('relays committed changes in order, never a rolled-back one, and empties the table', async () => {
    const out = await collectTopics(kafka.kafka, [topic], (b) => contracts.codec('TaskTrigger').decode(b));
    relay();
    await change('k', 1, 10);
    await change('k', 11, 10, true);
    await change('k', 11, 15);
    await waitFor(() => out.messages.length >= 25, { what: '25 messages', timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(out.messages.map((m) => m.value?.attempt)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(new Set(out.messages.map((m) => m.headers['message-id'])).size).toBe(25);
    const { rows } = await pg.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM scheduler_outbox');
    expect(rows[0]?.n).toBe(0);
    await out.close();
  });

  it("lets one relay lead, recovers when the leader's connection dies, and hands over when it stops", async () => {
    const out = await collectTopics(kafka.kafka, [topic], (b) => contracts.codec('TaskTrigger').decode(b));
    const a = relay();
    const b = relay();
    await waitFor(() => a.isLeader() || b.isLeader(), { what: 'a leader' });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(a.isLeader() && b.isLeader()).toBe(false);
    await change('k', 1, 3);
    await waitFor(() => out.messages.length === 3, { what: 'the first change' });

    // The leader's session ends (its process died): PostgreSQL frees the lock with it, and one of
    // the two (the standby, or the old leader on a new connection) leads again.
    await pg.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
         AND objid = (hashtextextended($1, 0) & x'ffffffff'::bigint)::oid`,
      [`openpenpal-outbox:${pg.schema}`],
    );
    await change('k', 4, 3);
    await waitFor(() => out.messages.length >= 6, { what: 'the second change', timeoutMs: 15_000 });
    expect(a.isLeader() && b.isLeader()).toBe(false);

    // The leader stops: the other takes over.
    const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
    await leader.close();
    await waitFor(() => standby.isLeader(), { what: 'the standby to take over', timeoutMs: 10_000 });
    await change('k', 7, 3);
    await waitFor(() => out.messages.length >= 9, { what: 'the third change', timeoutMs: 15_000 });
    // A leader killed between a send and its delete sends those rows again: copies share the message id.
    const firstCopies = out.messages.filter(
      (m, i) => out.messages.findIndex((o) => o.headers['message-id'] === m.headers['message-id']) === i,
    );
    expect(firstCopies.map((m) => m.value?.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await out.close();
  });
});
