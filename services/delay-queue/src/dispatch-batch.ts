import { createHash } from 'node:crypto';
import { errorCodeOf, toError } from '@openpenpal/errors';
import { HEADERS, type Producer, type RawMessage as Message } from '@openpenpal/messaging';
import type { Logger } from 'pino';
import { withDispatchSpans } from './dispatch-trace.ts';
import { delayEvent, type EventPublisher } from './events.ts';
import type { DelayQueueMetrics } from './metrics.ts';
import { decodeRecord } from './record.ts';
import { retryWhileUnavailable } from './retry.ts';
import type { ClaimedItem, Clock, DelayStore } from './store/index.ts';

export interface BatchDependencies {
  store: DelayStore;
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
  try {
    await withDispatchSpans(items, () => send(deps, groups));
    return { sent: items, failed: [] };
  } catch (error) {
    deps.logger.warn({ err: toError(error), topics: [...groups.keys()] }, 'publishing due messages failed');
    if (groups.size === 1) return { sent: [], failed: items };
  }
  const sent: OutgoingItem[] = [];
  const failed: OutgoingItem[] = [];
  const results = await Promise.allSettled(
    [...groups].map(([topic, group]) => send(deps, new Map([[topic, group]]))),
  );
  [...groups.values()].forEach((group, index) => {
    (results[index]?.status === 'fulfilled' ? sent : failed).push(...group);
  });
  return { sent, failed };
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
    await retryWhileUnavailable(() => deps.events.publish(events), {
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
  let dispatchedAt: number;
  try {
    outcome = await publish(deps, prepare(deps, claims));
    dispatchedAt = clock.now();
  } finally {
    onPublished();
  }
  const { sent, failed } = outcome;
  const retry = { now: () => clock.now(), maxDelayMs: deps.backoffMaxMs, deadline: expiresAt };

  if (failed.length > 0) {
    metrics.publishFailures.inc(failed.length);
    try {
      await retryWhileUnavailable(() => store.release(failed.map((item) => item.claim)), retry);
    } catch (error) {
      metrics.redisErrors.inc({ operation: 'release' });
      logger.warn({ err: toError(error), count: failed.length }, 'release failed; the claims will expire');
    }
  }
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
  return { dispatched: sent.length, failed: failed.length };
}
