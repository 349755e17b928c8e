import { summarise } from '@openpenpal/test-kit';
import type { Ledger } from './ledger.ts';

/** Summaries of a finished run's ledger: percentiles, totals, timeline. Pure. */

/** Lateness (first copy received − due) of the ids due in [from, to). */
export function latenessOfDue(ledger: Ledger, from: number, to: number) {
  const late: number[] = [];
  const lateAfterAccept: number[] = [];
  let undelivered = 0;
  for (let seq = 0; seq < ledger.offered; seq += 1) {
    const due = ledger.dueAt[seq] ?? 0;
    if (due < from || due >= to) continue;
    const received = ledger.firstReceivedAt[seq] ?? 0;
    if (received === 0) {
      undelivered += 1;
      continue;
    }
    late.push(received - due);
    lateAfterAccept.push(received - Math.max(due, ledger.acceptedAt[seq] ?? 0));
  }
  return {
    ...summarise(late),
    undelivered,
    // What the delay queue owes once Kafka had the request: a due time that passed while the
    // requester could not reach Kafka is not the queue's lateness.
    maxAfterAcceptMs:
      lateAfterAccept.length === 0 ? null : Math.round(lateAfterAccept.reduce((a, b) => Math.max(a, b))),
  };
}

/** Lateness by due time in buckets from `origin`: how a run went, second by second. */
export function latenessTimeline(ledger: Ledger, origin: number, bucketMs: number) {
  const buckets = new Map<number, { due: number; late: number[] }>();
  for (let seq = 0; seq < ledger.offered; seq += 1) {
    const due = ledger.dueAt[seq] ?? 0;
    const index = Math.floor((due - origin) / bucketMs);
    let bucket = buckets.get(index);
    if (!bucket) {
      bucket = { due: 0, late: [] };
      buckets.set(index, bucket);
    }
    bucket.due += 1;
    const received = ledger.firstReceivedAt[seq] ?? 0;
    if (received > 0) bucket.late.push(received - due);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, bucket]) => {
      const s = summarise(bucket.late);
      return {
        dueFromS: (index * bucketMs) / 1000,
        due: bucket.due,
        delivered: s.count,
        p50: s.p50,
        p99: s.p99,
        max: s.max,
      };
    });
}

/** Ids received more than once, with each copy's times relative to `origin` (s). */
export function duplicateSample(ledger: Ledger, origin: number, sampleSize = 20) {
  const byId = new Map<number, { receivedAtS: number; publishedAtS: number }[]>();
  for (const copy of ledger.copyLog) {
    if ((ledger.copies[copy.seq] ?? 0) < 2) continue;
    if (!byId.has(copy.seq) && byId.size >= sampleSize) continue;
    const list = byId.get(copy.seq) ?? [];
    list.push({
      receivedAtS: Math.round(copy.receivedAt - origin) / 1000,
      publishedAtS: Math.round(copy.publishedAt - origin) / 1000,
    });
    byId.set(copy.seq, list);
  }
  return [...byId.entries()].map(([seq, copies]) => ({
    id: ledger.idOf(seq),
    dueAtS: Math.round((ledger.dueAt[seq] ?? 0) - origin) / 1000,
    dispatchedEvents: ledger.dispatchedEvents[seq] ?? 0,
    redeliveredEvents: ledger.redeliveredEvents[seq] ?? 0,
    copies,
  }));
}

export function totals(ledger: Ledger, sampleSize = 20) {
  let accepted = 0;
  let delivered = 0;
  let deliveredUnaccepted = 0;
  let duplicates = 0;
  let idsWithDuplicates = 0;
  let maxCopies = 0;
  let withoutEvent = 0;
  let dispatchedEvents = 0;
  let redeliveredEvents = 0;
  const lost: string[] = [];
  let lostCount = 0;
  const late: number[] = [];
  const serviceLate: number[] = [];
  for (let seq = 0; seq < ledger.offered; seq += 1) {
    const copies = ledger.copies[seq] ?? 0;
    const wasAccepted = (ledger.acceptedAt[seq] ?? 0) > 0;
    dispatchedEvents += ledger.dispatchedEvents[seq] ?? 0;
    redeliveredEvents += ledger.redeliveredEvents[seq] ?? 0;
    if (wasAccepted) accepted += 1;
    if (copies > 0) {
      if (wasAccepted) delivered += 1;
      else deliveredUnaccepted += 1;
      late.push((ledger.firstReceivedAt[seq] ?? 0) - (ledger.dueAt[seq] ?? 0));
      if ((ledger.dispatchedEvents[seq] ?? 0) === 0) withoutEvent += 1;
    } else if (wasAccepted) {
      lostCount += 1;
      if (lost.length < sampleSize) lost.push(ledger.idOf(seq));
    }
    if (copies > 1) {
      duplicates += copies - 1;
      idsWithDuplicates += 1;
    }
    maxCopies = Math.max(maxCopies, copies);
    const own = ledger.serviceLateness[seq] ?? Number.NaN;
    if (!Number.isNaN(own)) serviceLate.push(own);
  }
  return {
    offered: ledger.offered,
    acceptedByKafka: accepted,
    notAccepted: ledger.offered - accepted,
    delivered,
    deliveredButNotAccepted: deliveredUnaccepted,
    lost: lostCount,
    lostSample: lost,
    copiesReceived: ledger.copyLog.length,
    duplicates,
    idsWithDuplicates,
    maxCopiesOfOneId: maxCopies,
    foreignCopies: ledger.foreign,
    latenessEndToEndMs: summarise(late),
    latenessReportedByServiceMs: summarise(serviceLate),
    events: {
      dispatched: dispatchedEvents,
      dispatchedRedelivered: redeliveredEvents,
      deliveredWithoutDispatchedEvent: withoutEvent,
      scheduledOutcomes: { ...ledger.scheduledOutcomes },
    },
  };
}
