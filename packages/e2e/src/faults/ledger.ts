/** What the load offered, item by item, and what Kafka acknowledged: the checker's expectations. */

/** One inbound event (or delay request) that must have exactly one effect. */
export type ItemKind = 'future_letter' | 'ai_reply' | 'courier_check' | 'delayed';

export interface Item {
  kind: ItemKind;
  /** The business id: the letter (future letter, AI reply: the user's letter), the courier task, the delayed message id. */
  id: string;
  /** The user who must be notified once: the recipient, the writer of the AI reply, the courier. */
  userId: string | null;
  offeredAt: number;
  /** When its effect is due (set when its rows are written; delayed messages: when offered). */
  dueAt: number;
  /** When Kafka acknowledged the inbound event (acks=all); 0 until then. */
  acceptedAt: number;
}

/** A cron task the run created through the admin API. */
export interface CronTask {
  taskId: string;
  cron: string;
  /** Seconds between nominal times (the expressions are `*\/n` seconds). */
  everySeconds: number;
  createdAt: number;
}

export interface Ledger {
  readonly runId: string;
  readonly items: Item[];
  readonly cronTasks: CronTask[];
  /** When the load started and stopped making items (epoch ms). */
  loadStartedAt: number;
  loadStoppedAt: number;
}

export function createLedger(runId: string): Ledger {
  return { runId, items: [], cronTasks: [], loadStartedAt: 0, loadStoppedAt: 0 };
}

/** The reference an item's lateness is measured from: its due time, or Kafka's ack when that came later. */
export const owedFrom = (item: Pick<Item, 'dueAt' | 'acceptedAt'>): number =>
  Math.max(item.dueAt, item.acceptedAt);
