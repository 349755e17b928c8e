import { createHash } from 'node:crypto';
import { errorCodeOf, toError, type ErrorCode } from '@openpenpal/errors';
import { HEADERS, type Producer, type RawMessage as Message } from '@openpenpal/messaging';
import type { Logger } from 'pino';
import { dispatchContexts, scheduledContexts, withDispatchSpans } from './dispatch-trace.ts';
import { delayEvent, type EventPublisher } from './events.ts';
import type { DelayQueueMetrics } from './metrics.ts';
import { decodeRecord } from './record.ts';
import { retryWhileUnavailable } from './retry.ts';
import type { ClaimedItem, Clock, DelayStore } from './store/index.ts';
import type { TargetGate, TargetState } from './targets.ts';

export interface BatchDependencies {
  store: DelayStore;
  /** Which targets take messages now; one that fails is held back on its own. */
  targets: TargetGate;
  /**
   * How long past its due time a message may wait for its target before it is rejected (a
   * DelayedMessageRejected event and a dead letter) and removed.
   */
  giveUpMs: number;
  /** Writes the messages given up on to the requests topic's dead-letter topic. */
  deadLetter(items: readonly RejectedItem[]): Promise<void>;
  /** The messaging layer's producer (idempotent, acks=all): one request carries every topic of a batch. */
  producer: Pick<Producer, 'sendEncoded'>;
  events: EventPublisher;
  clock: Clock;
  metrics: DelayQueueMetrics;
  logger: Logger;
  visibilityMs: number;
  backoffMaxMs: number;
}

interface OutgoingItem {
  claim: ClaimedItem;
  topic: string;
  message: Message & { headers: Record<string, Buffer> };
}

/** A message whose target did not take it in time. */
interface RejectedItem {
  id: string;
  topic: string;
  message: Message & { headers: Record<string, Buffer> };
  code: ErrorCode;
  reason: string;
}

export interface BatchResult {
  dispatched: number;
  /** Items whose publish failed (released for a later try). */
  failed: number;
}

/** Namespace of the UUID v5 message ids of replacements. Fixed forever: redeliveries must derive the same id. */
const REPLACEMENT_NAMESPACE = Buffer.from('d7d0eb40dcb84cc681599629d4b365e8', 'hex');

/**
 * The `message-id` header of a delayed message: its id, which a redelivery after a crash repeats,
 * so consumers can drop the copy. A replacement that follows a copy that may have reached the
 * target (generation 1 and up) is another message, so it gets an id of its own: a UUID v5 of the
 * generation and the id. (A readable suffix such as `<id>#2` could equal another message's id.)
 */
export function dispatchMessageId(id: string, generation: number): string {
  if (generation === 0) return id;
  const hash = createHash('sha1')
    .update(REPLACEMENT_NAMESPACE)
    .update(`${generation}:${id}`, 'utf8')
    .digest();
  hash.writeUInt8((hash.readUInt8(6) & 0x0f) | 0x50, 6);
  hash.writeUInt8((hash.readUInt8(8) & 0x3f) | 0x80, 8);
  const hex = hash.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Decodes claimed records; an item it cannot read stays claimed, so its claim expires for another replica. */
function prepare(deps: BatchDependencies, claims: readonly ClaimedItem[]): OutgoingItem[] {
  const items: OutgoingItem[] = [];
  for (const claim of claims) {
    try {
      const record = decodeRecord(claim.record);
      const headers: Record<string, Buffer> = { ...record.headers };
      // Duplicates (a redelivery after a crash) carry the same id, so consumers can drop them.
      headers[HEADERS.messageId] = Buffer.from(dispatchMessageId(claim.id, claim.generation));
      items.push({
        claim,
        topic: record.topic,
        message: { key: record.key, value: record.payload, headers },
      });
    } catch (error) {
      deps.metrics.undispatchable.inc({ code: errorCodeOf(error) });
      deps.logger.error(
        { err: toError(error), messageId: claim.id },
        'claimed item cannot be read here; leaving its claim to expire',
      );
    }
  }
  return items;
}

function byTopic(items: readonly OutgoingItem[]): Map<string, OutgoingItem[]> {
  const groups = new Map<string, OutgoingItem[]>();
  for (const item of items) {
    const group = groups.get(item.topic);
    if (group) group.push(item);
    else groups.set(item.topic, [item]);
  }
  return groups;
}

async function send(deps: BatchDependencies, groups: Map<string, OutgoingItem[]>): Promise<void> {
  await deps.producer.sendEncoded(
    [...groups].map(([topic, items]) => ({ topic, messages: items.map((i) => i.message) })),
  );
}

/**
 * Publishes every item in one produce request. When that fails and the batch spans several
 * topics, each topic is tried on its own, so one broken topic does not hold back the others.
 */
async function publish(
  deps: BatchDependencies,
  items: OutgoingItem[],
): Promise<{ sent: OutgoingItem[]; failed: OutgoingItem[] }> {
  const groups = byTopic(items);
  if (groups.size === 0) return { sent: [], failed: [] };
  try {
    await withDispatchSpans(items, () => send(deps, groups));
    for (const topic of groups.keys()) deps.targets.succeeded(topic);
    return { sent: items, failed: [] };
  } catch (error) {
    deps.logger.warn({ err: toError(error), topics: [...groups.keys()] }, 'publishing due messages failed');
    if (groups.size === 1) {
      for (const topic of groups.keys()) deps.targets.failed(topic, error);
      return { sent: [], failed: items };
    }
  }
  const sent: OutgoingItem[] = [];
  const failed: OutgoingItem[] = [];
  const results = await Promise.allSettled(
    [...groups].map(([topic, group]) => send(deps, new Map([[topic, group]]))),
  );
  [...groups].forEach(([topic, group], index) => {
    const result = results[index];
    if (result?.status === 'fulfilled') {
      deps.targets.succeeded(topic);
      sent.push(...group);
    } else {
      deps.targets.failed(topic, result?.reason);
      failed.push(...group);
    }
  });
  return { sent, failed };
}

/** Splits items into those whose target takes messages now and those held back with their target's state. */
async function triage(
  deps: BatchDependencies,
  items: OutgoingItem[],
): Promise<{
  ready: OutgoingItem[];
  blocked: { item: OutgoingItem; state: Exclude<TargetState, { usable: true }> }[];
}> {
  const states = await deps.targets.states([...new Set(items.map((item) => item.topic))]);
  const ready: OutgoingItem[] = [];
  const blocked: { item: OutgoingItem; state: Exclude<TargetState, { usable: true }> }[] = [];
  for (const item of items) {
    const state = states.get(item.topic);
    if (!state || state.usable) ready.push(item);
    else blocked.push({ item, state });
  }
  return { ready, blocked };
}

/**
 * Messages held back by their target: given back to wait until the target is tried again, or —
 * past `giveUpMs` after their due time — rejected: a DelayedMessageRejected event, a dead letter,
 * then removed from the store (never marked fired: nothing was published).
 */
async function setAside(
  deps: BatchDependencies,
  blocked: { item: OutgoingItem; state: Exclude<TargetState, { usable: true }> }[],
  retry: { now: () => number; maxDelayMs: number; deadline: number },
): Promise<void> {
  if (blocked.length === 0) return;
  const now = deps.clock.now();
  const rejected = blocked.filter(({ item }) => now - item.claim.dueAt >= deps.giveUpMs);
  const waiting = blocked.filter(({ item }) => now - item.claim.dueAt < deps.giveUpMs);
  const byRetry = new Map<number, ClaimedItem[]>();
  for (const { item, state } of waiting) {
    const retryAt = Math.min(state.retryAt, item.claim.dueAt + deps.giveUpMs);
    byRetry.set(retryAt, [...(byRetry.get(retryAt) ?? []), item.claim]);
  }
  for (const [retryAt, claims] of byRetry) {
    await retryWhileUnavailable(() => deps.store.release(claims, retryAt), retry).catch((error: unknown) => {
      deps.metrics.redisErrors.inc({ operation: 'release' });
      deps.logger.warn(
        { err: toError(error), count: claims.length },
        'deferring failed; the claims will expire',
      );
    });
  }
  deps.metrics.deferred.inc(waiting.length);
  if (rejected.length === 0) return;
  const items: RejectedItem[] = rejected.map(({ item, state }) => ({
    id: item.claim.id,
    topic: item.topic,
    message: item.message,
    code: state.code,
    reason: `${state.reason}; given up ${deps.giveUpMs} ms after the due time`,
  }));
  // Dead letters and events first: a crash before the drop repeats them, never loses the message.
  await deps.deadLetter(items);
  await retryWhileUnavailable(
    () =>
      deps.events.publish(
        items.map((item) =>
          delayEvent(item.id, null, deps.clock.now(), {
            'org.openpenpal.scheduler.DelayedMessageRejected': { error_code: item.code, reason: item.reason },
          }),
        ),
        scheduledContexts(items),
      ),
    retry,
  );
  await retryWhileUnavailable(() => deps.store.drop(rejected.map(({ item }) => item.claim)), retry);
  for (const item of items) deps.metrics.rejected.inc({ code: item.code });
  deps.logger.error(
    { count: items.length, topics: [...new Set(items.map((item) => item.topic))], code: items[0]?.code },
    'delayed messages rejected: their target did not take them in time',
  );
}

async function recordEvents(
  deps: BatchDependencies,
  sent: OutgoingItem[],
  dispatchedAt: number,
  deadline: number,
) {
  const events = sent.map(({ claim, topic }) =>
    delayEvent(claim.id, null, dispatchedAt, {
      'org.openpenpal.scheduler.DelayedMessageDispatched': {
        due_at: claim.dueAt,
        dispatched_at: dispatchedAt,
        lateness_ms: dispatchedAt - claim.dueAt,
        target_topic: topic,
        redelivered: claim.redelivered,
      },
    }),
  );
  try {
    await retryWhileUnavailable(() => deps.events.publish(events, dispatchContexts(sent)), {
      deadline,
      now: () => deps.clock.now(),
      maxDelayMs: deps.backoffMaxMs,
    });
  } catch (error) {
    // The messages are out; repeating them (by not acking) would be worse than a gap in history.
    deps.metrics.eventsDropped.inc(events.length);
    deps.logger.error({ err: toError(error), count: events.length }, 'dispatch events not recorded');
  }
}

/**
 * Dispatches one claimed batch: publish to the targets (acks=all), then record the dispatch
 * events, then acknowledge in Redis — so a crash at any point repeats the publish rather than
 * losing it. A failed publish releases the claims. `onPublished` runs once the publish settled, so
 * the caller may claim the next batch while this one records and acknowledges.
 */
export async function dispatchBatch(
  deps: BatchDependencies,
  claims: readonly ClaimedItem[],
  claimedAt: number,
  onPublished: () => void,
): Promise<BatchResult> {
  const { store, metrics, logger, clock } = deps;
  const expiresAt = claimedAt + deps.visibilityMs;
  const redelivered = claims.filter((claim) => claim.redelivered).length;
  if (redelivered > 0) metrics.redelivered.inc(redelivered);
  let outcome: { sent: OutgoingItem[]; failed: OutgoingItem[] };
  let blocked: Awaited<ReturnType<typeof triage>>['blocked'];
  let dispatchedAt: number;
  try {
    const triaged = await triage(deps, prepare(deps, claims));
    blocked = triaged.blocked;
    outcome = await publish(deps, triaged.ready);
    dispatchedAt = clock.now();
  } finally {
    onPublished();
  }
  const { sent, failed } = outcome;
  const retry = { now: () => clock.now(), maxDelayMs: deps.backoffMaxMs, deadline: expiresAt };
  await setAside(deps, blocked, retry).catch((error: unknown) => {
    logger.warn(
      { err: toError(error), count: blocked.length },
      'setting held-back messages aside failed; their claims will expire',
    );
  });

  if (failed.length > 0) {
    metrics.publishFailures.inc(failed.length);
    // Each failed topic waits for its own backoff; the others went out.
    const states = await deps.targets.states([...new Set(failed.map((item) => item.topic))]);
    const byRetry = new Map<number, ClaimedItem[]>();
    for (const item of failed) {
      const state = states.get(item.topic);
      const retryAt = state && !state.usable ? state.retryAt : 0;
      byRetry.set(retryAt, [...(byRetry.get(retryAt) ?? []), item.claim]);
    }
    for (const [retryAt, claims] of byRetry) {
      try {
        await retryWhileUnavailable(() => store.release(claims, retryAt), retry);
      } catch (error) {
        metrics.redisErrors.inc({ operation: 'release' });
        logger.warn({ err: toError(error), count: claims.length }, 'release failed; the claims will expire');
      }
    }
  }
  // Only a batch that sent nothing (Kafka away) pauses the dispatcher; one failing target does not.
  if (sent.length === 0) return { dispatched: 0, failed: failed.length };

  // Events get half the claim's remaining life, so the ack still fits before it expires.
  await recordEvents(deps, sent, dispatchedAt, dispatchedAt + (expiresAt - dispatchedAt) / 2);
  try {
    const { stale } = await retryWhileUnavailable(() => store.ack(sent.map((item) => item.claim)), retry);
    if (stale.length > 0) logger.warn({ stale: stale.length }, 'acked after the claim expired');
  } catch (error) {
    metrics.redisErrors.inc({ operation: 'ack' });
    logger.warn({ err: toError(error), count: sent.length }, 'ack failed; the messages will be redelivered');
  }
  for (const { claim, topic } of sent) {
    metrics.dispatched.inc({ topic });
    metrics.lateness.observe((dispatchedAt - claim.dueAt) / 1000);
  }
  return { dispatched: sent.length, failed: 0 };
}
