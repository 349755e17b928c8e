import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Platform } from '../client/db.ts';
import type { KafkaSide } from '../client/kafka.ts';
import type { Item, ItemKind, Ledger } from './ledger.ts';

const HOUR = 60 * 60 * 1000;
const TICK_MS = 50;
const RETRY_PAUSE_MS = 250;
/** Most items prepared and sent in one round. */
const ROUND = 100;

export const DELAYED_TARGET_TOPIC = 'e2e.faults.delayed';

/** Share of each kind in the inbound rate. */
const MIX: readonly [ItemKind, number][] = [
  ['delayed', 0.4],
  ['future_letter', 0.25],
  ['courier_check', 0.2],
  ['ai_reply', 0.15],
];

export interface LoadOptions {
  ledger: Ledger;
  platform: Platform;
  kafka: KafkaSide;
  /** Inbound events per second, all kinds together. */
  rate: number;
  /** Each item is due this long (uniformly between) after its rows are written. */
  delayMinMs: number;
  delayMaxMs: number;
  /** Which kinds to offer, their shares of MIX scaled up to the whole rate; every kind by default. */
  kinds?: readonly ItemKind[];
  /** Where the delayed messages go (`DELAYED_TARGET_TOPIC` by default). */
  delayedTopic?: string;
}

interface LoadStats {
  prepareFailures: number;
  sendFailures: number;
  lastError: string | null;
  /** Items still unsent when the load's deadline passed. */
  unsent: number;
}

export interface Load {
  start(): void;
  /** Stops making items, then sends what is queued until `deadline`. */
  stop(deadline: number): Promise<LoadStats>;
}

interface Pending {
  item: Item;
  prepared: boolean;
  topic: string;
  send?: () => Parameters<KafkaSide['send']>;
}

/** The kind of the `seq`-th item: the mix of `kinds` (every kind by default), the same for every run. */
export function pickKind(seq: number, kinds?: readonly ItemKind[]): ItemKind {
  const mix = kinds ? MIX.filter(([kind]) => kinds.includes(kind)) : MIX;
  if (mix.length === 0) throw new Error('the load needs at least one kind of item');
  const total = kinds ? mix.reduce((sum, [, share]) => sum + share, 0) : 1;
  // A fixed pattern, not random: every run offers the same mix in the same order.
  const slot = ((((seq * 0.6180339887) % 1) + 1) % 1) * total;
  let acc = 0;
  for (const [kind, share] of mix) {
    acc += share;
    if (slot < acc) return kind;
  }
  // Rounding can leave the slot at the very end: the last kind of the mix (the whole mix: delayed, as always).
  return kinds ? (mix.at(-1)?.[0] ?? 'delayed') : 'delayed';
}

/**
 * Inbound events at a steady rate through the public Avro topics, each due a few seconds ahead:
 * future letters (the letter row first, as the letter service does), AI reply requests (absolute
 * delay), accepted courier tasks whose 48 h check falls due during the run, and delay requests to
 * a target topic of the run's own. Like a requester that must not drop anything, a failed write
 * or send is retried with the same ids until it succeeds, so an outage delays items and never thins
 * them out; an item counts as accepted when Kafka acknowledged it (acks=all).
 */
export function createLoad(options: LoadOptions): Load {
  const { ledger, platform, kafka } = options;
  const delayedTopic = options.delayedTopic ?? DELAYED_TARGET_TOPIC;
  const queue: Pending[] = [];
  const stats: LoadStats = { prepareFailures: 0, sendFailures: 0, lastError: null, unsent: 0 };
  let making: NodeJS.Timeout | undefined;
  let worker: Promise<void> | undefined;
  let deadline = Number.POSITIVE_INFINITY;
  let stopping = false;
  let writer: string | undefined;

  const delay = () =>
    options.delayMinMs + Math.floor(Math.random() * (options.delayMaxMs - options.delayMinMs));

  const make = (): void => {
    const now = Date.now();
    const owed = Math.floor(((now - ledger.loadStartedAt) * options.rate) / 1000) - ledger.items.length;
    for (let i = 0; i < owed; i += 1) {
      const seq = ledger.items.length;
      const kind = pickKind(seq, options.kinds);
      const item: Item = { kind, id: '', userId: null, offeredAt: now, dueAt: 0, acceptedAt: 0 };
      if (kind === 'delayed') Object.assign(item, { id: `${ledger.runId}-d-${seq}`, dueAt: now + delay() });
      ledger.items.push(item);
      queue.push({ item, prepared: false, topic: '' });
    }
  };

  /** Writes the rows the item's service owns and builds its message; sets its due time. */
  const prepare = async (pending: Pending): Promise<void> => {
    const { item } = pending;
    const eventId = randomUUID();
    if (item.kind === 'delayed') {
      const messageId = item.id;
      const dueAt = item.dueAt;
      pending.topic = 'scheduler.delay-requests';
      pending.send = () => [
        'scheduler.delay-requests',
        'DelayRequest',
        [
          {
            key: messageId,
            messageId: eventId,
            value: {
              request_id: eventId,
              requested_at: Date.now(),
              source: 'e2e-faults',
              event: {
                'org.openpenpal.scheduler.ScheduleDelayedMessage': {
                  message_id: messageId,
                  due_at: dueAt,
                  target_topic: delayedTopic,
                  target_key: messageId,
                  headers: {},
                  payload: Buffer.from(messageId),
                },
              },
            },
          },
        ],
      ];
      return;
    }
    const dueAt = Date.now() + delay();
    if (item.kind === 'future_letter') {
      writer ??= await platform.createUser();
      const reader = await platform.createUser();
      const letterId = await platform.createLetter({
        userId: writer,
        recipientId: reader,
        status: 'scheduled',
        scheduledAt: new Date(dueAt),
      });
      Object.assign(item, { id: letterId, userId: reader, dueAt });
      pending.topic = 'openpenpal.letters.future-letters';
      pending.send = () => [
        'openpenpal.letters.future-letters',
        'FutureLetterEvent',
        [
          {
            key: letterId,
            messageId: eventId,
            value: {
              eventId,
              occurredAt: Date.now(),
              event: {
                'org.openpenpal.platform.FutureLetterScheduled': {
                  letterId,
                  scheduledAt: dueAt,
                  timezone: null,
                },
              },
            },
          },
        ],
      ];
    } else if (item.kind === 'ai_reply') {
      const user = await platform.createUser({ timezone: 'UTC' });
      const letterId = await platform.createLetter({ userId: user, status: 'delivered' });
      Object.assign(item, { id: letterId, userId: user, dueAt });
      pending.topic = 'openpenpal.ai.reply-requests';
      pending.send = () => [
        'openpenpal.ai.reply-requests',
        'AiReplyRequested',
        [
          {
            key: user,
            messageId: eventId,
            value: {
              eventId,
              letterId,
              userId: user,
              persona: 'poet',
              timezone: 'UTC',
              requestedAt: Date.now(),
              delay: { 'org.openpenpal.platform.AiReplyDelayAbsolute': { at: dueAt } },
            },
          },
        ],
      ];
    } else {
      const { courierId, userId } = await platform.createCourier({ zone: `F${randomUUID().slice(0, 7)}` });
      const acceptedAt = dueAt - 48 * HOUR;
      const taskId = await platform.createCourierTask({
        courierId,
        acceptedAt: new Date(acceptedAt),
        deadline: new Date(dueAt),
      });
      Object.assign(item, { id: taskId, userId, dueAt });
      pending.topic = 'openpenpal.courier.task-events';
      pending.send = () => [
        'openpenpal.courier.task-events',
        'CourierTaskEvent',
        [
          {
            key: taskId,
            messageId: eventId,
            value: {
              eventId,
              occurredAt: acceptedAt,
              event: { 'org.openpenpal.platform.CourierTaskAccepted': { taskId, courierId, acceptedAt } },
            },
          },
        ],
      ];
    }
  };

  const failed = async (error: unknown, what: 'prepare' | 'send'): Promise<void> => {
    if (what === 'prepare') stats.prepareFailures += 1;
    else stats.sendFailures += 1;
    stats.lastError = `${what}: ${error instanceof Error ? error.message : String(error)}`;
    await sleep(RETRY_PAUSE_MS);
  };

  const round = async (batch: Pending[]): Promise<boolean> => {
    for (const pending of batch) {
      if (pending.prepared) continue;
      try {
        await prepare(pending);
        pending.prepared = true;
      } catch (error) {
        await failed(error, 'prepare');
        return false;
      }
    }
    const byTopic = new Map<string, Pending[]>();
    for (const pending of batch) {
      if (pending.item.acceptedAt > 0) continue;
      byTopic.set(pending.topic, [...(byTopic.get(pending.topic) ?? []), pending]);
    }
    for (const group of byTopic.values()) {
      const first = group[0]?.send?.();
      if (!first) continue;
      const [topic, schema] = first;
      const messages = group.flatMap((p) => p.send?.()[2] ?? []);
      try {
        await kafka.send(topic, schema, messages);
        const at = Date.now();
        for (const pending of group) pending.item.acceptedAt = at;
      } catch (error) {
        await failed(error, 'send');
        return false;
      }
    }
    return true;
  };

  const work = async (): Promise<void> => {
    while (Date.now() < deadline) {
      if (queue.length === 0) {
        if (stopping) return;
        await sleep(TICK_MS);
        continue;
      }
      const batch = queue.slice(0, ROUND);
      if (await round(batch)) queue.splice(0, batch.length);
    }
  };

  return {
    start: () => {
      ledger.loadStartedAt = Date.now();
      making = setInterval(make, TICK_MS);
      worker = work();
    },
    stop: async (until) => {
      clearInterval(making);
      ledger.loadStoppedAt = Date.now();
      stopping = true;
      deadline = until;
      await worker;
      stats.unsent = queue.length;
      return stats;
    },
  };
}
