import type { ExecutionEvent, TaskDefinition, TaskTrigger } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import { ATTR, startSpan } from '@openpenpal/telemetry';
import type { Clock } from '@openpenpal/timing';
import type { FirePublisher } from '../kafka/publisher.ts';
import type { Leadership } from '../lease/lease.ts';
import type { FireStages, TickerObserver } from '../metrics/observer.ts';
import type { Batch, FirePlan } from '../planning/batch-plan.ts';
import { nextLook } from '../planning/task-plan.ts';
import type { InflightMarker, RunningMark, TickerStore } from '../store/store.ts';
import { buildTrigger, missedEvent, skippedEvent, triggeredEvent } from './events.ts';
import { cronExecutionId } from './ids.ts';

/** The span `startSpan` hands its function (the API's Span, without depending on the API here). */
type Span = Parameters<Parameters<typeof startSpan>[1]>[0];

export interface BatchContext {
  store: TickerStore;
  publisher: FirePublisher;
  clock: Clock;
  observer: TickerObserver;
  worker: string;
  forbidSlackMs: number;
  /** The term the batch runs under; undefined once it is no longer valid (checked before sending). */
  currentTerm(): Leadership | undefined;
}

/** A prepared batch was not released: something it was planned on changed while it waited. */
export class ReleaseCancelled extends Error {
  constructor() {
    super('prepared fire batch cancelled before release');
    this.name = 'ReleaseCancelled';
  }
}

/**
 * Firing ahead of time is never allowed, but preparing is: planned, fenced and encoded before the
 * due instant, a batch only waits for `at` and goes. `stillValid` is asked at `at`.
 */
export interface Release {
  at: number;
  stillValid(): boolean;
}

/** A batch failed after it may have reached Kafka: the inflight marker says what to reconcile. */
export class BatchFailed extends Error {
  readonly marker: InflightMarker | undefined;
  constructor(cause: unknown, marker: InflightMarker | undefined) {
    super('fire batch failed', { cause });
    this.name = 'BatchFailed';
    this.marker = marker;
  }
}

function leaseGone(): SchedulerError {
  return new SchedulerError('CONFLICT', 'the leader lease is no longer valid; not sending', {
    details: { reason: 'fenced_out' },
  });
}

/** How long a started execution of a forbid-policy task blocks the next one at most. */
export function runningDeadline(def: TaskDefinition, fireTime: number, slackMs: number): number {
  const { max_retries: retries, timeout_secs: timeout } = def;
  return fireTime + timeout * 1000 * (retries + 1) + slackMs;
}

/**
 * Carries out a planned batch: store the pause change; record the inflight marker and check
 * running slots (fenced); send the TaskMissed/ExecutionSkipped events; encode the triggers, wait
 * for the release instant when the batch was prepared ahead, send them all in one request; send
 * TaskTriggered; commit checkpoints (fenced). Missed events go before the triggers so that a
 * reconciled trigger never hides a miss that was not recorded.
 */
export function executeBatch(
  ctx: BatchContext,
  term: Leadership,
  batch: Batch,
  release?: Release,
): Promise<void> {
  // One span for the whole instant: the triggers carry its context, and the events it causes
  // (TaskMissed, ExecutionSkipped, TaskTriggered) are published inside it, so they join its trace.
  return startSpan('ticker fire', (span) => runBatch(ctx, term, batch, span, release), {
    attributes: { [ATTR.messagingSystem]: 'kafka', [ATTR.messagingOperation]: 'publish' },
  });
}

async function runBatch(
  ctx: BatchContext,
  term: Leadership,
  batch: Batch,
  span: Span,
  release: Release | undefined,
): Promise<void> {
  const { store, publisher, clock, observer, worker } = ctx;
  const { now } = batch;
  const started = clock.now();
  if (batch.pause) await store.setPause(term.value, batch.pause);

  let marker: InflightMarker | undefined;
  let refused = new Map<string, string>();
  const alreadyFiring = new Set<string>();
  const extra = new Set<FirePlan>();
  if (batch.fires.length > 0) {
    const claims: { taskId: string; executionId: string }[] = [];
    for (const fire of batch.fires) {
      if (!fire.spec.forbid) continue;
      // Catch-up runs of one forbid-policy task would overlap each other: only the first may run.
      if (alreadyFiring.has(fire.taskId)) extra.add(fire);
      else {
        alreadyFiring.add(fire.taskId);
        claims.push({ taskId: fire.taskId, executionId: fire.executionId });
      }
    }
    marker = { token: term.token, since: now, topics: [...new Set(batch.fires.map((f) => f.spec.topic))] };
    try {
      refused = await store.begin(term.value, now, marker, claims);
    } catch (error) {
      throw new BatchFailed(error, marker);
    }
  }
  try {
    const sent: FirePlan[] = [];
    const before: ExecutionEvent[] = [];
    for (const miss of batch.misses) {
      before.push(
        missedEvent({
          def: miss.spec.def,
          executionId: cronExecutionId(miss.taskId, miss.nominal),
          nominal: miss.nominal,
          reason: miss.reason,
          policy: miss.spec.policy,
          at: now,
          worker,
        }),
      );
      observer.missed(miss.reason, 1);
    }
    for (const fire of batch.fires) {
      const holder = refused.get(fire.taskId);
      if (holder === undefined && !extra.has(fire)) {
        sent.push(fire);
        continue;
      }
      const detail =
        holder === undefined ? 'an earlier catch-up run of this batch' : `execution ${holder} still runs`;
      before.push(
        skippedEvent({
          def: fire.spec.def,
          executionId: fire.executionId,
          reason: 'concurrency_forbidden',
          detail,
          at: now,
          worker,
        }),
      );
      observer.skipped('concurrency_forbidden', 1);
    }
    if (before.length > 0) await publisher.sendEvents(before);

    const triggers: { topic: string; trigger: TaskTrigger }[] = [];
    let acked = 0;
    let followUp: { send(): Promise<void> } | undefined;
    let stages: Omit<FireStages, 'lookedAhead' | 'eventsSent' | 'committed'> | undefined;
    if (sent.length > 0) {
      if (ctx.currentTerm()?.token !== term.token) throw leaseGone();
      // A prepared batch is stamped with its release instant, when it is handed to Kafka (or now,
      // if preparing took longer than the lead).
      const fireTime = Math.max(release?.at ?? 0, clock.now());
      const byTopic = new Map<string, TaskTrigger[]>();
      for (const fire of sent) {
        const trigger = buildTrigger({
          def: fire.spec.def,
          executionId: fire.executionId,
          nominal: fire.nominal,
          fireTime,
          source: fire.source,
          fencingToken: term.token,
          payload: fire.payload,
        });
        triggers.push({ topic: fire.spec.topic, trigger });
        const list = byTopic.get(fire.spec.topic);
        if (list) list.push(trigger);
        else byTopic.set(fire.spec.topic, [trigger]);
      }
      span.setAttribute(ATTR.messagingBatchSize, sent.length);
      // Encoded inside the span, so the triggers carry its trace context.
      const encoding = clock.now();
      const prepared = publisher.prepareTriggers(byTopic);
      const preparedAt = clock.now();
      // Their TaskTriggered events too, when that fits before the instant (it costs about what the
      // triggers did): after the acknowledgement only their send is left. Otherwise after the ack.
      if (release && release.at - preparedAt >= preparedAt - encoding)
        followUp = publisher.prepareEvents(
          triggers.map(({ topic, trigger }) => triggeredEvent(trigger, topic, worker)),
        );
      const ready = clock.now();
      let staging: number | undefined;
      let staged: number | undefined;
      if (release) {
        // Transactional sends write the instant's transaction ahead, as late as its size allows,
        // and only commit at the instant; a cancelled release aborts it (nothing became visible).
        const lead = publisher.stageLeadMs?.(sent.length) ?? 0;
        try {
          if (lead > 0 && prepared.stage) {
            await clock.sleepUntil(release.at - lead);
            if (release.stillValid() && ctx.currentTerm()?.token === term.token) {
              staging = clock.now();
              await prepared.stage();
              staged = clock.now();
            }
          }
          await clock.sleepUntil(release.at);
          if (!release.stillValid()) throw new ReleaseCancelled();
          if (ctx.currentTerm()?.token !== term.token) throw leaseGone();
        } catch (error) {
          await prepared.discard?.();
          throw error;
        }
      }
      // Nothing else runs until the acknowledgement: work done meanwhile only delays noticing
      // it (measured: working out the next times while waiting raised the p50 fire lag by 3 ms).
      const released = clock.now();
      await prepared.send();
      acked = clock.now();
      stages = {
        instant: release?.at ?? now,
        triggers: sent.length,
        started,
        prepared: ready,
        ...(staging === undefined ? {} : { staging, staged }),
        released,
        acked,
      };
      observer.acknowledged(
        triggers.map(({ trigger: t }, index) => ({
          nominal: t.nominal_time,
          taskType: t.task_type,
          source: t.source,
          // `triggers` was built from `sent` in order.
          graceMs: sent[index]?.spec.graceMs ?? Number.POSITIVE_INFINITY,
        })),
        acked,
      );
    }
    countRunsAndLookAhead(batch, sent);
    const lookedAhead = clock.now();
    if (triggers.length > 0)
      await (
        followUp ??
        publisher.prepareEvents(triggers.map(({ topic, trigger }) => triggeredEvent(trigger, topic, worker)))
      ).send();
    const eventsSent = clock.now();
    await store.commit(term.value, now, {
      checkpoints: new Map(
        [...batch.updates].filter(([, u]) => !u.remove).map(([taskId, u]) => [taskId, u.checkpoint]),
      ),
      deletes: batch.deletes,
      running: runningMarks(sent, triggers, ctx.forbidSlackMs),
      doneExecutions: sent.filter((f) => f.source === 'run_now').map((f) => f.executionId),
      clearInflight: marker !== undefined,
    });
    if (stages) observer.fireStages?.({ ...stages, lookedAhead, eventsSent, committed: clock.now() });
  } catch (error) {
    throw new BatchFailed(error, marker);
  }
}

/** Adds the runs that go out to each task's count, and works out when to look at each task next. */
function countRunsAndLookAhead(batch: Batch, sent: readonly FirePlan[]): void {
  for (const fire of sent) {
    const update = batch.updates.get(fire.taskId);
    if (update) update.checkpoint.runCount += 1;
  }
  for (const update of batch.updates.values()) {
    update.nextAt =
      update.spec && !update.remove
        ? nextLook(update.spec, update, update.checkpoint.runCount, batch.now)
        : undefined;
  }
}

function runningMarks(
  sent: readonly FirePlan[],
  triggers: readonly { trigger: TaskTrigger }[],
  slackMs: number,
): RunningMark[] {
  const fireTime = triggers[0]?.trigger.fire_time ?? 0;
  return sent
    .filter((fire) => fire.spec.forbid)
    .map((fire) => ({
      taskId: fire.taskId,
      executionId: fire.executionId,
      deadline: runningDeadline(fire.spec.def, fireTime, slackMs),
    }));
}
