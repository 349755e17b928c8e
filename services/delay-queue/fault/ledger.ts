/**
 * What the fault run knows about each requested id and each copy received. Ids are
 * `<runId>-<seq>` with a dense `seq`, so every per-id fact is an array slot, and 500 requests/s
 * for ten minutes stay a few megabytes.
 */
export interface Ledger {
  readonly runId: string;
  /** Mints the next id, created `now` and due at `dueAt`; returns its seq. */
  offer(now: number, dueAt: number): number;
  idOf(seq: number): string;
  /** The seq of one of this run's ids, or undefined for anything else. */
  seqOf(id: string): number | undefined;
  accepted(seqs: readonly number[], at: number): void;
  /** One copy on the target topic (already deduplicated by partition offset). */
  received(seq: number, receivedAt: number, publishedAt: number): void;
  dispatchedEvent(seq: number, latenessMs: number, redelivered: boolean): void;
  /** A request the intake processed (its event's occurred_at), with the outcome. */
  scheduledEvent(outcome: string, occurredAt: number): void;
  readonly offered: number;
  readonly createdAt: readonly number[];
  readonly dueAt: readonly number[];
  /** 0 while Kafka has not acknowledged the request. */
  readonly acceptedAt: readonly number[];
  /** 0 while no copy arrived. */
  readonly firstReceivedAt: readonly number[];
  readonly copies: readonly number[];
  readonly copyLog: readonly Copy[];
  readonly dispatchedEvents: readonly number[];
  readonly redeliveredEvents: readonly number[];
  /** The service's own `lateness_ms` of the first Dispatched event (NaN when none). */
  readonly serviceLateness: readonly number[];
  readonly scheduledOutcomes: Readonly<Record<string, number>>;
  /** occurred_at of every Scheduled event: when the intake took a request in. */
  readonly intakeTimes: readonly number[];
  /** Copies whose message-id is not one of this run's. */
  readonly foreign: number;
  foreignCopy(): void;
}

export interface Copy {
  seq: number;
  receivedAt: number;
  /** The record's CreateTime: when the delay queue's producer built it. */
  publishedAt: number;
  /** 0 for the first copy of an id, 1 for the second, … */
  index: number;
}

export function createLedger(runId: string): Ledger {
  const createdAt: number[] = [];
  const dueAt: number[] = [];
  const acceptedAt: number[] = [];
  const firstReceivedAt: number[] = [];
  const copies: number[] = [];
  const copyLog: Copy[] = [];
  const dispatchedEvents: number[] = [];
  const redeliveredEvents: number[] = [];
  const serviceLateness: number[] = [];
  const scheduledOutcomes: Record<string, number> = {};
  const intakeTimes: number[] = [];
  const prefix = `${runId}-`;
  let foreign = 0;
  return {
    runId,
    offer: (now, due) => {
      const seq = createdAt.length;
      createdAt.push(now);
      dueAt.push(due);
      acceptedAt.push(0);
      firstReceivedAt.push(0);
      copies.push(0);
      dispatchedEvents.push(0);
      redeliveredEvents.push(0);
      serviceLateness.push(Number.NaN);
      return seq;
    },
    idOf: (seq) => `${prefix}${seq}`,
    seqOf: (id) => {
      if (!id.startsWith(prefix)) return undefined;
      const seq = Number(id.slice(prefix.length));
      return Number.isInteger(seq) && seq >= 0 && seq < createdAt.length ? seq : undefined;
    },
    accepted: (seqs, at) => {
      for (const seq of seqs) if (acceptedAt[seq] === 0) acceptedAt[seq] = at;
    },
    received: (seq, receivedAt, publishedAt) => {
      const index = copies[seq] ?? 0;
      copies[seq] = index + 1;
      if (index === 0) firstReceivedAt[seq] = receivedAt;
      copyLog.push({ seq, receivedAt, publishedAt, index });
    },
    dispatchedEvent: (seq, latenessMs, redelivered) => {
      dispatchedEvents[seq] = (dispatchedEvents[seq] ?? 0) + 1;
      if (redelivered) redeliveredEvents[seq] = (redeliveredEvents[seq] ?? 0) + 1;
      if (Number.isNaN(serviceLateness[seq])) serviceLateness[seq] = latenessMs;
    },
    scheduledEvent: (outcome, occurredAt) => {
      scheduledOutcomes[outcome] = (scheduledOutcomes[outcome] ?? 0) + 1;
      intakeTimes.push(occurredAt);
    },
    get offered() {
      return createdAt.length;
    },
    createdAt,
    dueAt,
    acceptedAt,
    firstReceivedAt,
    copies,
    copyLog,
    dispatchedEvents,
    redeliveredEvents,
    serviceLateness,
    scheduledOutcomes,
    intakeTimes,
    get foreign() {
      return foreign;
    },
    foreignCopy: () => {
      foreign += 1;
    },
  };
}
