import { SchedulerError } from '@openpenpal/errors';
import { Partitioners, type Kafka, type Producer as KafkaProducer, type Transaction } from 'kafkajs';
import type { Logger } from 'pino';
import type { EncodedBatch } from './producer.ts';
import { splitBySize } from './request-size.ts';

/**
 * Messages written inside a Kafka transaction that is still open: on the brokers, acknowledged by
 * all replicas, but invisible to consumers that read committed (kafkajs's default) until
 * `commit()`. `abort()` discards them for good.
 */
export interface OpenTransaction {
  /** One EndTxn round trip: the messages become visible to read-committed consumers together. */
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * A transactional producer under one fixed `transactional.id`. Only one process may use an id at a
 * time: `init()` (Kafka's initTransactions) fences every earlier producer of the same id — its
 * next produce or commit fails — and aborts the transaction it left open, so a deposed writer can
 * never make its open transaction visible afterwards.
 */
export interface TransactionalSender {
  /**
   * Takes the transactional id over now with a new producer (fencing earlier holders, this
   * sender's own earlier producer included, and aborting the transaction they left open; waiting
   * for one already committing to finish). `write` inits when it has no producer; calling `init`
   * makes the fencing happen at a known point (a new leader, before it reads back what was sent).
   */
  init(): Promise<void>;
  /**
   * Opens a transaction and writes the batches in it (one produce request per broker after one
   * AddPartitionsToTxn); resolves when the brokers acknowledged them (acks=all). One transaction
   * at a time: commit or abort it before the next `write`. On any failure the producer is
   * dropped, and the next `write` starts over with `init()`.
   */
  write(batches: readonly EncodedBatch[]): Promise<OpenTransaction>;
  /** Disconnects (an open transaction is aborted by the next holder's init or by its timeout). */
  close(): Promise<void>;
}

export interface TransactionalSenderOptions {
  kafka: Kafka;
  logger: Logger;
  /** Fixed per logical writer (one per deployment of a singleton), not per process. */
  transactionalId: string;
  /**
   * The coordinator aborts a transaction left open this long (a writer killed between write and
   * commit, and nobody took the id over): read-committed consumers of its partitions wait for it.
   */
  transactionTimeoutMs: number;
}

/** Kafka's answers that mean another producer of the id took over (this one is fenced). */
const FENCED = new Set([
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);

function classify(what: string, error: unknown): SchedulerError {
  const type = (error as { type?: unknown }).type;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof type === 'string' && FENCED.has(type))
    return new SchedulerError('CONFLICT', `transactional ${what} refused (${type}): ${message}`, {
      cause: error,
      details: { reason: 'transaction_fenced', type },
    });
  return new SchedulerError(
    'DEPENDENCY_UNAVAILABLE',
    `Kafka did not take the transactional ${what}: ${message}`,
    {
      cause: error,
    },
  );
}

export function createTransactionalSender(options: TransactionalSenderOptions): TransactionalSender {
  const logger = options.logger.child({
    component: 'transactional-sender',
    transactionalId: options.transactionalId,
  });
  let producer: KafkaProducer | undefined;
  let ready: Promise<KafkaProducer> | undefined;
  let closed = false;

  /** Forgets a producer that failed (unless a newer one replaced it already) and disconnects it. */
  const drop = (what: string, error: unknown, failed: KafkaProducer) => {
    logger.warn({ err: error }, `transactional ${what} failed; the producer starts over`);
    if (producer === failed) {
      producer = undefined;
      ready = undefined;
    }
    void failed.disconnect().catch(() => undefined);
  };

  const start = () =>
    (ready = (async () => {
      if (closed) throw new SchedulerError('SHUTTING_DOWN', 'transactional sender is closed');
      const created = options.kafka.producer({
        transactionalId: options.transactionalId,
        transactionTimeout: options.transactionTimeoutMs,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      producer = created;
      try {
        await created.connect();
        // kafkajs initialises the transactional producer id at its first transaction: an empty
        // one ends locally without a request, leaving the id taken over (earlier holders fenced).
        const empty = await created.transaction();
        await empty.commit();
      } catch (error) {
        drop('init', error, created);
        throw classify('init', error);
      }
      return created;
    })());

  const guard = (from: KafkaProducer, transaction: Transaction, end: 'commit' | 'abort') => async () => {
    try {
      await transaction[end]();
    } catch (error) {
      drop(end, error, from);
      throw classify(end, error);
    }
  };

  const init = () => ready ?? start();

  return {
    init: async () => {
      if (ready) await ready.catch(() => undefined);
      const old = producer;
      producer = undefined;
      ready = undefined;
      if (old) await old.disconnect().catch(() => undefined);
      await start();
    },
    write: async (batches) => {
      const current = await init();
      let transaction: Transaction | undefined;
      try {
        transaction = await current.transaction();
        // In requests the broker takes (request-size.ts); the commit still covers them all.
        for (const topicMessages of splitBySize(batches)) {
          await transaction.sendBatch({ acks: -1, topicMessages });
        }
      } catch (error) {
        drop('write', error, current);
        throw classify('write', error);
      }
      return { commit: guard(current, transaction, 'commit'), abort: guard(current, transaction, 'abort') };
    },
    close: async () => {
      closed = true;
      const current = producer;
      producer = undefined;
      ready = undefined;
      if (current) await current.disconnect().catch(() => undefined);
    },
  };
}
