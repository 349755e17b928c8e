import type {
  Acquisition,
  CronPlan,
  DelayedCopy,
  DelayedOffer,
  Observations,
  TriggerCopy,
} from './records.ts';

/**
 * The checker: pure functions of a run's observations, no clock, no I/O. A deduplicating consumer
 * applies a record's effect once per `message-id`, so what it gets wrong is not a repeated record
 * (a raw duplicate, reported) but one logical message under two message ids (its effect twice), or
 * two logical messages under one message id (the second one's effect dropped: lost to it).
 */

const SAMPLE = 10;

export interface Distribution {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted.length === 0
      ? null
      : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? null);
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? null };
}

/** Per logical message: its copies' message ids and how many copies. */
function group<T>(copies: readonly T[], logical: (c: T) => string, messageId: (c: T) => string) {
  const byLogical = new Map<string, { ids: Set<string>; copies: number; first: T }>();
  const logicalOfId = new Map<string, Set<string>>();
  for (const copy of copies) {
    const key = logical(copy);
    const entry = byLogical.get(key);
    if (entry) {
      entry.ids.add(messageId(copy));
      entry.copies += 1;
    } else byLogical.set(key, { ids: new Set([messageId(copy)]), copies: 1, first: copy });
    const owners = logicalOfId.get(messageId(copy)) ?? new Set<string>();
    owners.add(key);
    logicalOfId.set(messageId(copy), owners);
  }
  let rawDuplicates = 0;
  const twiceAfterDedup: string[] = [];
  for (const [key, entry] of byLogical) {
    rawDuplicates += entry.copies - entry.ids.size;
    if (entry.ids.size > 1) twiceAfterDedup.push(key);
  }
  const sharedIds = [...logicalOfId].filter(([, owners]) => owners.size > 1).map(([id]) => id);
  return { byLogical, rawDuplicates, twiceAfterDedup, sharedIds };
}

export function checkDelayed(offers: readonly DelayedOffer[], copies: readonly DelayedCopy[]) {
  const offered = new Map(offers.map((o) => [o.id, o]));
  const known = copies.filter((c) => offered.has(c.key));
  const { byLogical, rawDuplicates, twiceAfterDedup, sharedIds } = group(
    known,
    (c) => c.key,
    (c) => c.messageId,
  );
  const accepted = offers.filter((o) => o.acceptedAt !== null);
  const lost = accepted.filter((o) => !byLogical.has(o.id)).map((o) => o.id);
  const lateness: number[] = [];
  const publishLateness: number[] = [];
  for (const [id, entry] of byLogical) {
    const offer = offered.get(id);
    // Copies are recorded in the order they arrive: the first is the earliest.
    if (offer) {
      lateness.push(entry.first.receivedAt - offer.dueAt);
      publishLateness.push(entry.first.publishedAt - offer.dueAt);
    }
  }
  const repeated = [...byLogical.values()].filter((e) => e.copies > e.ids.size).length;
  return {
    offered: offers.length,
    accepted: accepted.length,
    delivered: byLogical.size,
    copies: known.length,
    lost: lost.length,
    lostSample: lost.slice(0, SAMPLE),
    deliveredTwiceAfterDedup: twiceAfterDedup.length,
    deliveredTwiceSample: twiceAfterDedup.slice(0, SAMPLE),
    /** Message ids carried by two logical messages: a deduplicating consumer drops the second. */
    lostToDedup: sharedIds.length,
    rawDuplicates,
    messagesWithRawDuplicates: repeated,
    deliveredUnaccepted: offers.filter((o) => o.acceptedAt === null && byLogical.has(o.id)).length,
    foreignCopies: copies.length - known.length,
    /** Received by the run's consumer minus due. */
    latenessMs: distribution(lateness),
    /** Written to the target topic (record time) minus due: the delay queue's own lateness. */
    publishLatenessMs: distribution(publishLateness),
  };
}

/** Every nominal time of a plan. */
export function nominalTimes(plan: CronPlan): number[] {
  const times: number[] = [];
  for (let t = plan.from; t <= plan.to; t += plan.periodMs) times.push(t);
  return times;
}

export function checkTriggers(plans: readonly CronPlan[], copies: readonly TriggerCopy[]) {
  const planned = new Map(plans.map((p) => [p.taskId, p]));
  const ours = copies.filter((c) => planned.has(c.taskId));
  const slot = (taskId: string, nominal: number) => `${taskId}@${new Date(nominal).toISOString()}`;
  const { byLogical, rawDuplicates, twiceAfterDedup, sharedIds } = group(
    ours,
    (c) => slot(c.taskId, c.nominalTime),
    (c) => c.messageId,
  );
  const missed: string[] = [];
  const lateness: number[] = [];
  const publishLateness: number[] = [];
  let expected = 0;
  for (const plan of plans) {
    for (const nominal of nominalTimes(plan)) {
      expected += 1;
      const entry = byLogical.get(slot(plan.taskId, nominal));
      if (!entry) missed.push(slot(plan.taskId, nominal));
      else {
        lateness.push(entry.first.receivedAt - nominal);
        publishLateness.push(entry.first.publishedAt - nominal);
      }
    }
  }
  const outsidePlan = ours.filter((c) => {
    const plan = planned.get(c.taskId);
    return plan !== undefined && (c.nominalTime < plan.from || c.nominalTime > plan.to);
  }).length;
  return {
    tasks: plans.length,
    expectedFireTimes: expected,
    firedFireTimes: expected - missed.length,
    copies: ours.length,
    missed: missed.length,
    missedSample: missed.slice(0, SAMPLE),
    triggeredTwiceAfterDedup: twiceAfterDedup.length,
    triggeredTwiceSample: twiceAfterDedup.slice(0, SAMPLE),
    lostToDedup: sharedIds.length,
    /** Repeated triggers with the same execution id (known after a Redis failover: docs/architecture.md). */
    rawDuplicates,
    messageIdNotExecutionId: ours.filter((c) => c.messageId !== c.executionId).length,
    copiesOutsidePlan: outsidePlan,
    latenessMs: distribution(lateness),
    publishLatenessMs: distribution(publishLateness),
  };
}

/**
 * Fencing tokens: every acquisition must take a token no process took before, and tokens must grow
 * in the order leaders were elected; PostgreSQL's row must hold the highest. A trigger whose token
 * is below the newest one acquired before its fire time came from a deposed leader (its send was
 * on the wire when it lost the lease): counted, not a reuse.
 */
export function checkTokens(
  acquisitions: readonly Acquisition[],
  triggers: readonly TriggerCopy[],
  storedToken: number | null,
) {
  const ordered = [...acquisitions].sort((a, b) => a.at - b.at);
  const seen = new Map<number, Acquisition[]>();
  for (const acquisition of ordered)
    seen.set(acquisition.token, [...(seen.get(acquisition.token) ?? []), acquisition]);
  const reused = [...seen].filter(([, list]) => list.length > 1);
  const backwards: { token: number; after: number; process: string }[] = [];
  let highest = Number.NEGATIVE_INFINITY;
  for (const acquisition of ordered) {
    if (acquisition.token <= highest && (seen.get(acquisition.token)?.length ?? 0) === 1) {
      backwards.push({ token: acquisition.token, after: highest, process: acquisition.process });
    }
    highest = Math.max(highest, acquisition.token);
  }
  const acquiredTokens = new Set(ordered.map((a) => a.token));
  const triggerTokens = new Set(triggers.map((t) => t.fencingToken));
  const unknown = [...triggerTokens].filter((t) => !acquiredTokens.has(t));
  let stale = 0;
  for (const trigger of triggers) {
    let current: number | undefined;
    for (const acquisition of ordered) {
      if (acquisition.at > trigger.fireTime) break;
      current = Math.max(current ?? acquisition.token, acquisition.token);
    }
    if (current !== undefined && trigger.fencingToken < current) stale += 1;
  }
  const maxAcquired = ordered.length === 0 ? null : Math.max(...ordered.map((a) => a.token));
  const maxSeen = Math.max(maxAcquired ?? Number.NEGATIVE_INFINITY, ...triggerTokens);
  return {
    acquisitions: ordered.length,
    tokens: ordered.map((a) => ({ token: a.token, process: a.process, at: new Date(a.at).toISOString() })),
    reused: reused.map(([token, list]) => ({ token, processes: list.map((a) => a.process) })),
    wentBackwards: backwards,
    triggerTokensNotAcquired: unknown,
    triggersFromDeposedLeader: stale,
    storedToken,
    storedBelowHighestSeen: storedToken !== null && Number.isFinite(maxSeen) && storedToken < maxSeen,
  };
}

/**
 * The recorder's replicas lose no execution: every execution id the ticker triggered is in the
 * recorder's `executions` read model (one row per id, its primary key, so never twice).
 */
function checkRecorded(triggers: readonly TriggerCopy[], recorded: readonly string[] | null) {
  if (recorded === null) return null;
  const have = new Set(recorded);
  const executions = [...new Set(triggers.map((t) => t.executionId))];
  const missing = executions.filter((id) => !have.has(id));
  return {
    executions: executions.length,
    recorded: executions.length - missing.length,
    missing: missing.length,
    missingSample: missing.slice(0, SAMPLE),
  };
}

export function checkRun(observations: Observations) {
  const delayed = checkDelayed(observations.offers, observations.delayedCopies);
  const triggers = checkTriggers(observations.plans, observations.triggerCopies);
  const tokens = checkTokens(observations.acquisitions, observations.triggerCopies, observations.storedToken);
  const recorder = checkRecorded(observations.triggerCopies, observations.recordedExecutions ?? null);
  const broken: string[] = [];
  if (recorder && recorder.missing > 0)
    broken.push(`${recorder.missing} triggered executions missing from the recorder's read model`);
  if (delayed.lost > 0) broken.push(`${delayed.lost} delayed messages lost`);
  if (delayed.deliveredTwiceAfterDedup > 0)
    broken.push(`${delayed.deliveredTwiceAfterDedup} delayed messages delivered twice after deduplication`);
  if (delayed.lostToDedup > 0)
    broken.push(`${delayed.lostToDedup} message ids shared by two delayed messages`);
  if (triggers.missed > 0) broken.push(`${triggers.missed} nominal fire times not triggered`);
  if (triggers.triggeredTwiceAfterDedup > 0)
    broken.push(
      `${triggers.triggeredTwiceAfterDedup} nominal fire times triggered twice after deduplication`,
    );
  if (triggers.lostToDedup > 0) broken.push(`${triggers.lostToDedup} execution ids shared by two fire times`);
  if (triggers.messageIdNotExecutionId > 0)
    broken.push(`${triggers.messageIdNotExecutionId} triggers whose message-id is not their execution id`);
  if (tokens.reused.length > 0)
    broken.push(`fencing tokens reused: ${tokens.reused.map((r) => r.token).join(', ')}`);
  if (tokens.wentBackwards.length > 0)
    broken.push(`${tokens.wentBackwards.length} acquisitions took a lower token`);
  if (tokens.storedBelowHighestSeen) broken.push('the PostgreSQL token row is below a token in use');
  return { ok: broken.length === 0, broken, delayed, triggers, tokens, recorder };
}

export type RunCheck = ReturnType<typeof checkRun>;
