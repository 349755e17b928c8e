import { summarise, type PercentileSummary } from '@openpenpal/test-kit';
import { owedFrom, type CronTask, type Item, type ItemKind, type Ledger } from './ledger.ts';

/** The checker's verdict over a finished run: pure, no clock, no I/O (evidence.ts gathers the input). */

export interface Copy {
  /** The business key the copy is about (letter, user, courier task, delayed message id). */
  key: string;
  messageId: string;
  /** The record's CreateTime. */
  timestamp: number;
}

export interface ExecutionRow {
  executionId: string;
  taskId: string;
  status: string;
  nominalTime: number | null;
  startedAt: number | null;
  businessKey: string | null;
}

export interface Evidence {
  /** Copies on the delayed messages' target topic (key = message id). */
  delayed: Copy[];
  /** FutureLetterReleased (key letterId), AiReplyDelivered (key userId), CourierTaskTimedOut (key taskId). */
  released: Copy[];
  aiDelivered: Copy[];
  courierTimedOut: Copy[];
  /** Attempt-1 triggers of the run's cron tasks and items: execution id → records seen. */
  firstTriggers: Map<string, number>;
  executions: ExecutionRow[];
  /** Succeeded events in the event store per execution id (more than 1: the work was done twice). */
  succeededEvents: Map<string, number>;
  letters: Map<string, { status: string; publishedAt: number | null }>;
  /** ai_replies rows per user letter. */
  aiReplies: Map<string, { id: string; status: string }[]>;
  courierTasks: Map<string, { timeoutCount: number }>;
  /** Inbox rows per `user_id type`. */
  inbox: Map<string, number>;
  /** Event ids seen on the recorded topics: id → records (several: a producer retry, suppressed by the store). */
  topicEventIds: Map<string, number>;
  /** Rows per event id in the event store, for the ids above. */
  storeEventIds: Map<string, number>;
  /** NotificationDelivered event ids per `notification_id channel`. */
  deliveredPerChannel: Map<string, Set<string>>;
  /** InboundEventRejected of the run's own items: subject → reason. */
  rejections: Map<string, string>;
}

export interface FaultPhase {
  fault: string;
  killAt: number;
  /** When the process or server was back (ready); null when it never was. */
  readyAt: number | null;
  /** The next fault's kill, or the end of the load. */
  endAt: number;
}

export interface CheckOptions {
  /** An item handled at most this late counts as on time when finding the recovery. */
  onTimeMs: number;
  /** Cron nominal times from this long after the task's creation are expected. */
  cronSettleMs: number;
}

const INBOX_TYPE: Record<Exclude<ItemKind, 'delayed'>, string> = {
  future_letter: 'future_letter_unlocked',
  ai_reply: 'ai_reply_received',
  courier_check: 'courier_timeout_reminder',
};

/** One measured item: when it was owed and how late its handler (or its copy) came. */
interface Timed {
  due: number;
  latenessMs: number;
  /** A handler's start (scheduling latency) or a delayed message's copy on its target. */
  what: 'handler_start' | 'delivery';
  /** The item (`kind id`) or the cron task and nominal time, to name the worst of a phase. */
  label?: string;
}

function countBy<T>(values: readonly T[], key: (value: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const value of values) map.set(key(value), [...(map.get(key(value)) ?? []), value]);
  return map;
}

/** Expected nominal times of a `*\/n`-seconds task: multiples of n s from creation + settle to the stop. */
export function expectedNominals(task: CronTask, stopAt: number, settleMs: number): number[] {
  const step = task.everySeconds * 1000;
  const times: number[] = [];
  for (let t = Math.ceil((task.createdAt + settleMs) / step) * step; t <= stopAt; t += step) times.push(t);
  return times;
}

function checkItems(ledger: Ledger, evidence: Evidence, byKey: Map<string, ExecutionRow[]>) {
  const copiesOf = {
    future_letter: countBy(evidence.released, (c) => c.key),
    ai_reply: countBy(evidence.aiDelivered, (c) => c.key),
    courier_check: countBy(evidence.courierTimedOut, (c) => c.key),
    delayed: countBy(evidence.delayed, (c) => c.key),
  };
  const perKind = Object.fromEntries(
    (['future_letter', 'ai_reply', 'courier_check', 'delayed'] as const).map((kind) => [
      kind,
      { expected: 0, done: 0, lost: 0, duplicatedEffects: 0, rawDuplicates: 0, notAccepted: 0 },
    ]),
  ) as Record<
    ItemKind,
    {
      expected: number;
      done: number;
      lost: number;
      duplicatedEffects: number;
      rawDuplicates: number;
      notAccepted: number;
    }
  >;
  const problems: string[] = [];
  const timed: Timed[] = [];
  for (const item of ledger.items) {
    const figures = perKind[item.kind];
    if (item.acceptedAt === 0) {
      figures.notAccepted += 1;
      continue;
    }
    figures.expected += 1;
    const key = item.kind === 'ai_reply' ? (item.userId ?? '') : item.id;
    const copies = copiesOf[item.kind].get(key) ?? [];
    const distinct = new Set(copies.map((c) => c.messageId)).size;
    figures.rawDuplicates += Math.max(0, copies.length - distinct);
    const state = effectState(item, evidence);
    const done = distinct >= 1 && state.ok;
    if (!done) {
      figures.lost += 1;
      if (problems.length < 50)
        problems.push(`${item.kind} ${item.id}: ${distinct} announcement(s), ${state.why}`);
    } else figures.done += 1;
    if (distinct > 1 || state.twice) {
      figures.duplicatedEffects += 1;
      if (problems.length < 50)
        problems.push(`${item.kind} ${item.id}: effect twice (${distinct} announcements, ${state.why})`);
    }
    if (item.kind === 'delayed') {
      const first = Math.min(...copies.map((c) => c.timestamp));
      if (copies.length > 0)
        timed.push({
          due: item.dueAt,
          latenessMs: first - owedFrom(item),
          what: 'delivery',
          label: `delayed ${item.id}`,
        });
    } else {
      const businessKey = item.kind === 'ai_reply' ? evidence.aiReplies.get(item.id)?.[0]?.id : item.id;
      const started = (byKey.get(businessKey ?? '') ?? []).find((e) => e.startedAt !== null);
      if (started?.startedAt)
        timed.push({
          due: item.dueAt,
          latenessMs: started.startedAt - owedFrom(item),
          what: 'handler_start',
          label: `${item.kind} ${item.id}`,
        });
    }
  }
  return { perKind, problems, timed };
}

/** Whether the item's own rows show its effect once: the letter published, one reply, one reminder, one inbox row. */
function effectState(item: Item, evidence: Evidence): { ok: boolean; twice: boolean; why: string } {
  if (item.kind === 'delayed') return { ok: true, twice: false, why: 'delivered' };
  const inbox = evidence.inbox.get(`${item.userId} ${INBOX_TYPE[item.kind]}`) ?? 0;
  let ok = inbox >= 1;
  let twice = inbox > 1;
  let state: string;
  if (item.kind === 'future_letter') {
    const letter = evidence.letters.get(item.id);
    state = `letter ${letter?.status ?? 'missing'}`;
    ok &&= letter?.status === 'published' && (letter.publishedAt ?? 0) >= item.dueAt - 1;
  } else if (item.kind === 'ai_reply') {
    const replies = evidence.aiReplies.get(item.id) ?? [];
    state = `${replies.length} ai_replies row(s) ${replies.map((r) => r.status).join(',')}`;
    ok &&= replies.length === 1 && replies[0]?.status === 'sent';
    twice ||= replies.length > 1;
  } else {
    const task = evidence.courierTasks.get(item.id);
    state = `timeout_count ${task?.timeoutCount ?? 'missing'}`;
    ok &&= task?.timeoutCount === 1;
    twice ||= (task?.timeoutCount ?? 0) > 1;
  }
  const rejected = evidence.rejections.get(item.id);
  return { ok, twice, why: `${state}, ${inbox} inbox row(s)${rejected ? `, rejected: ${rejected}` : ''}` };
}

function checkCron(ledger: Ledger, evidence: Evidence, options: CheckOptions) {
  const byTask = countBy(
    evidence.executions.filter((e) => ledger.cronTasks.some((t) => t.taskId === e.taskId)),
    (e) => e.taskId,
  );
  let expected = 0;
  let done = 0;
  let duplicated = 0;
  let suppressed = 0;
  const missing: string[] = [];
  const timed: Timed[] = [];
  for (const task of ledger.cronTasks) {
    const rows = byTask.get(task.taskId) ?? [];
    const byNominal = countBy(rows, (e) => String(e.nominalTime));
    for (const nominal of expectedNominals(task, ledger.loadStoppedAt, options.cronSettleMs)) {
      expected += 1;
      const found = byNominal.get(String(nominal)) ?? [];
      const succeeded = found.filter((e) => e.status === 'succeeded');
      if (succeeded.length === 0) {
        if (missing.length < 50)
          missing.push(
            `${task.taskId} @ ${new Date(nominal).toISOString()}: ${found.map((e) => e.status).join(',') || 'no execution'}`,
          );
        continue;
      }
      done += 1;
      const execution = succeeded[0];
      if (!execution) continue;
      if (found.length > 1 || (evidence.succeededEvents.get(execution.executionId) ?? 0) > 1) duplicated += 1;
      if ((evidence.firstTriggers.get(execution.executionId) ?? 0) > 1) suppressed += 1;
      if (execution.startedAt !== null)
        timed.push({
          due: nominal,
          latenessMs: execution.startedAt - nominal,
          what: 'handler_start',
          label: `cron ${task.taskId}`,
        });
    }
  }
  return { expected, done, duplicated, triggeredTwiceRunOnce: suppressed, missing, timed };
}

function checkEvents(evidence: Evidence) {
  let missing = 0;
  let twice = 0;
  let rawDuplicates = 0;
  for (const [id, records] of evidence.topicEventIds) {
    rawDuplicates += records - 1;
    const rows = evidence.storeEventIds.get(id) ?? 0;
    if (rows === 0) missing += 1;
    if (rows > 1) twice += 1;
  }
  let deliveredTwice = 0;
  for (const ids of evidence.deliveredPerChannel.values()) if (ids.size > 1) deliveredTwice += 1;
  return {
    onTopics: evidence.topicEventIds.size,
    rawDuplicatesOnTopics: rawDuplicates,
    missingFromStore: missing,
    inStoreMoreThanOnce: twice,
    notificationsDelivered: evidence.deliveredPerChannel.size,
    notificationsDeliveredTwiceOnAChannel: deliveredTwice,
  };
}

/** Max lateness of items due in [from, to); null when none was due. */
function maxLateness(timed: readonly Timed[], from: number, to: number): number | null {
  const inside = timed.filter((t) => t.due >= from && t.due < to).map((t) => t.latenessMs);
  return inside.length === 0 ? null : Math.round(Math.max(...inside));
}

/** The latest item due in [from, to): what it was, when due (relative to `from`) and how late. */
function worstOf(timed: readonly Timed[], from: number, to: number) {
  let worst: Timed | undefined;
  for (const t of timed)
    if (t.due >= from && t.due < to && (!worst || t.latenessMs > worst.latenessMs)) worst = t;
  return worst
    ? {
        item: worst.label ?? worst.what,
        dueAfterKillMs: worst.due - from,
        latenessMs: Math.round(worst.latenessMs),
      }
    : null;
}

/** The first due time in [from, to) from which every item due is at most `onTimeMs` late. */
export function recoveredAt(
  timed: readonly Timed[],
  from: number,
  to: number,
  onTimeMs: number,
): number | null {
  const inside = timed.filter((t) => t.due >= from && t.due < to).sort((a, b) => a.due - b.due);
  let candidate: number | null = from;
  for (const t of inside) {
    if (t.latenessMs > onTimeMs) candidate = null;
    else candidate ??= t.due;
  }
  return candidate;
}

function phaseFigures(phase: FaultPhase, timed: readonly Timed[], options: CheckOptions) {
  const ready = phase.readyAt ?? phase.endAt;
  const recovered = recoveredAt(timed, phase.killAt, phase.endAt, options.onTimeMs);
  return {
    fault: phase.fault,
    killedAt: new Date(phase.killAt).toISOString(),
    backAfterMs: phase.readyAt === null ? null : phase.readyAt - phase.killAt,
    maxLatenessDuringMs: maxLateness(timed, phase.killAt, ready),
    maxLatenessAfterMs: maxLateness(timed, ready, phase.endAt),
    recoveredAfterMs: recovered === null ? null : recovered - phase.killAt,
    worst: worstOf(timed, phase.killAt, phase.endAt),
    itemsDue: timed.filter((t) => t.due >= phase.killAt && t.due < phase.endAt).length,
  };
}

export function check(
  ledger: Ledger,
  evidence: Evidence,
  phases: readonly FaultPhase[],
  options: CheckOptions,
) {
  const byKey = countBy(
    evidence.executions.filter((e) => e.businessKey !== null),
    (e) => e.businessKey ?? '',
  );
  const items = checkItems(ledger, evidence, byKey);
  const cron = checkCron(ledger, evidence, options);
  const events = checkEvents(evidence);
  const timed = [...items.timed, ...cron.timed];
  const firstKill = phases[0]?.killAt ?? Number.POSITIVE_INFINITY;
  const inFault = (t: Timed) =>
    phases.some((p) => {
      const recovered = recoveredAt(timed, p.killAt, p.endAt, options.onTimeMs) ?? p.endAt;
      return t.due >= p.killAt && t.due < Math.max(recovered, p.readyAt ?? p.endAt);
    });
  const latency = (list: readonly Timed[]): PercentileSummary =>
    summarise(list.filter((t) => t.what === 'handler_start').map((t) => t.latenessMs));
  const deliveries = (list: readonly Timed[]): PercentileSummary =>
    summarise(list.filter((t) => t.what === 'delivery').map((t) => t.latenessMs));
  const kinds = Object.values(items.perKind);
  const lost = kinds.reduce((n, k) => n + k.lost, 0) + (cron.expected - cron.done);
  const duplicated = kinds.reduce((n, k) => n + k.duplicatedEffects, 0) + cron.duplicated;
  return {
    executions: {
      expected: cron.expected + kinds.reduce((n, k) => n + k.expected, 0),
      done: cron.done + kinds.reduce((n, k) => n + k.done, 0),
      duplicatedEffects: duplicated,
      duplicatedButSuppressed: cron.triggeredTwiceRunOnce + kinds.reduce((n, k) => n + k.rawDuplicates, 0),
      cron: { ...cron, timed: undefined },
      items: items.perKind,
    },
    delayed: {
      scheduled: items.perKind.delayed.expected,
      delivered: items.perKind.delayed.done,
      lost: items.perKind.delayed.lost,
      rawDuplicates: items.perKind.delayed.rawDuplicates,
      duplicatesAfterDedup: items.perKind.delayed.duplicatedEffects,
    },
    events,
    phases: phases.map((p) => phaseFigures(p, timed, options)),
    schedulingLatencyMs: {
      beforeFaults: latency(timed.filter((t) => t.due < firstKill)),
      outsideFaults: latency(timed.filter((t) => !inFault(t))),
      all: latency(timed),
    },
    delayedLatenessMs: {
      outsideFaults: deliveries(timed.filter((t) => !inFault(t))),
      all: deliveries(timed),
    },
    problems: [...items.problems, ...cron.missing.map((m) => `cron ${m}`)],
    verdict: {
      lost,
      duplicatedEffects: duplicated,
      eventsMissingFromStore: events.missingFromStore,
      eventsInStoreTwice: events.inStoreMoreThanOnce,
      notificationsDeliveredTwice: events.notificationsDeliveredTwiceOnAChannel,
      promisesKept:
        lost === 0 &&
        duplicated === 0 &&
        events.missingFromStore === 0 &&
        events.inStoreMoreThanOnce === 0 &&
        events.notificationsDeliveredTwiceOnAChannel === 0,
    },
  };
}

export type CheckResult = ReturnType<typeof check>;
