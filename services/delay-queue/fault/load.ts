import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DelayRequest } from '@openpenpal/contracts';
import type { Producer } from '@openpenpal/messaging';
import type { Ledger } from './ledger.ts';

export interface LoadOptions {
  producer: Producer;
  ledger: Ledger;
  requestsTopic: string;
  targetTopic: string;
  /** Schedule requests per second. */
  rate: number;
  delayMinMs: number;
  delayMaxMs: number;
  payloadBytes: number;
}

export interface LoadStats {
  startedAt: number;
  stoppedAt: number;
  sends: number;
  failedSends: number;
  firstFailureAt: number | null;
  lastFailureAt: number | null;
  lastError: string | null;
  /** Requests still unsent when the drain deadline passed. */
  unsent: number;
}

export interface Load {
  start(): void;
  /** Stops making requests, then sends what is queued until `deadline`. */
  stop(deadline: number): Promise<LoadStats>;
}

/** Most requests in one produce call; more wait for the next one. */
const MAX_SEND = 2_000;
const TICK_MS = 10;
const RETRY_PAUSE_MS = 250;

/**
 * Makes schedule requests at a steady rate, each for a new id due 1–5 s later, and sends them
 * like a requester that must not drop any: a failed send is retried with the same ids and due
 * times until Kafka takes it, so an outage delays requests and never thins them out. An id counts
 * as accepted when Kafka acknowledged it (acks=all).
 */
export function createLoad(options: LoadOptions): Load {
  const { ledger, producer } = options;
  const payload = Buffer.alloc(options.payloadBytes, 'x');
  const queue: number[] = [];
  const stats: LoadStats = {
    startedAt: 0,
    stoppedAt: 0,
    sends: 0,
    failedSends: 0,
    firstFailureAt: null,
    lastFailureAt: null,
    lastError: null,
    unsent: 0,
  };
  let making: NodeJS.Timeout | undefined;
  let sender: Promise<void> | undefined;
  let deadline = Number.POSITIVE_INFINITY;
  let stopping = false;

  const request = (seq: number): DelayRequest => ({
    request_id: randomUUID(),
    requested_at: ledger.createdAt[seq] ?? Date.now(),
    source: 'delay-queue-fault-run',
    event: {
      'org.openpenpal.scheduler.ScheduleDelayedMessage': {
        message_id: ledger.idOf(seq),
        due_at: ledger.dueAt[seq] ?? Date.now(),
        target_topic: options.targetTopic,
        target_key: ledger.idOf(seq),
        headers: {},
        payload,
      },
    },
  });

  const make = (): void => {
    const now = Date.now();
    // Catch up after a late timer: the offered rate is a property of time, not of ticks.
    const owed = Math.floor(((now - stats.startedAt) * options.rate) / 1000) - ledger.offered;
    const span = options.delayMaxMs - options.delayMinMs;
    for (let i = 0; i < owed; i += 1) {
      queue.push(ledger.offer(now, now + options.delayMinMs + Math.floor(Math.random() * span)));
    }
  };

  const send = async (): Promise<void> => {
    while (Date.now() < deadline) {
      if (queue.length === 0) {
        if (stopping) return;
        await sleep(TICK_MS);
        continue;
      }
      const batch = queue.slice(0, MAX_SEND);
      try {
        await producer.send(
          { topic: options.requestsTopic, schema: 'DelayRequest' },
          batch.map((seq) => ({ key: ledger.idOf(seq), value: request(seq) })),
        );
        ledger.accepted(batch, Date.now());
        queue.splice(0, batch.length);
        stats.sends += 1;
      } catch (error) {
        const now = Date.now();
        stats.failedSends += 1;
        stats.firstFailureAt ??= now;
        stats.lastFailureAt = now;
        stats.lastError = error instanceof Error ? error.message : String(error);
        await sleep(RETRY_PAUSE_MS);
      }
    }
  };

  return {
    start: () => {
      stats.startedAt = Date.now();
      making = setInterval(make, TICK_MS);
      sender = send();
    },
    stop: async (until) => {
      clearInterval(making);
      stats.stoppedAt = Date.now();
      stopping = true;
      deadline = until;
      await sender;
      stats.unsent = queue.length;
      return stats;
    },
  };
}
