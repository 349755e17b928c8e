import { setTimeout as sleep } from 'node:timers/promises';
import { createApiClient, createKafkaSide, createPlatform, kafkaFromStackEnv } from '@openpenpal/e2e';
import {
  check,
  createCronTasks,
  createLedger,
  createLoad,
  effectLines,
  endOffsets,
  evidenceTopics,
  gatherEvidence,
  type CheckResult,
  type FaultPhase as EffectPhase,
  type ItemKind,
  type Ledger,
} from '@openpenpal/e2e/faults';
import type { FaultPhase } from './records.ts';

/**
 * The effects of the handlers and the notifier on the two-instance system, with the system fault
 * run's own load and checker (`@openpenpal/e2e/faults`), pointed at the cluster profile: inbound
 * events through the public topics (future letters, AI reply requests, courier checks; the delayed
 * messages are the run's own load, checked by check.ts), cron tasks through the admin API, and the
 * evidence read from the cluster's brokers, the platform's rows, the recorder's read model and the
 * event store.
 */

/** The inbound kinds the run offers; their shares as in the e2e load, scaled to the whole rate. */
export const EFFECT_KINDS: readonly ItemKind[] = ['future_letter', 'ai_reply', 'courier_check'];
/** As the e2e fault run: each item due 3-6 s after its rows are written. */
const DELAY_MIN_MS = 3_000;
const DELAY_MAX_MS = 6_000;
/** `letter_cleanup` tasks every second (plus one every 3 s), as the e2e fault run creates. */
const CRON_TASKS = 2;
const CRON_SETTLE_MS = 10_000;

export interface EffectsOptions {
  stackEnv: Record<string, string>;
  /** The admin API of each instance: a call goes to the next when one does not answer. */
  apiUrls: readonly string[];
  runId: string;
  /** Inbound events per second, all kinds together. */
  rate: number;
  /** An item handled at most this late counts as on time (the recovery per fault). */
  onTimeMs: number;
  say: (line: string) => void;
}

type LoadStats = Awaited<ReturnType<ReturnType<typeof createLoad>['stop']>>;

export interface Effects {
  readonly ledger: Ledger;
  start(): void;
  /** Stops making items, then sends what is queued until `deadline`. */
  stop(deadline: number): Promise<LoadStats>;
  /**
   * Reads the evidence and checks it until every promise holds or `deadline` passed (two looks at
   * least: a slow read on a loaded machine can use up the time).
   */
  settle(
    phases: readonly FaultPhase[],
    deadline: number,
  ): Promise<{ result: CheckResult; rounds: number; ms: number }>;
  /** Deletes the cron tasks through the admin API. */
  removeCronTasks(): Promise<void>;
  close(): Promise<void>;
}

/** The cluster run's phases as the e2e checker reads them: back (`readyAt`) when restarted. */
export function effectPhases(phases: readonly FaultPhase[]): EffectPhase[] {
  return phases.map((p) => ({ fault: p.name, killAt: p.killAt, readyAt: p.restartedAt, endAt: p.endAt }));
}

/** What the e2e checker found broken, as the run's verdict lines (empty: every promise kept). */
export function effectsBroken(result: CheckResult): string[] {
  const broken: string[] = [];
  for (const [kind, k] of Object.entries(result.executions.items)) {
    if (k.lost > 0) broken.push(`${k.lost} ${kind} effects lost (of ${k.expected})`);
    if (k.duplicatedEffects > 0) broken.push(`${k.duplicatedEffects} ${kind} effects applied twice`);
  }
  const cron = result.executions.cron;
  if (cron.expected > cron.done)
    broken.push(`${cron.expected - cron.done} cron executions never ran (of ${cron.expected})`);
  if (cron.duplicated > 0) broken.push(`${cron.duplicated} cron nominal times run twice`);
  const ev = result.events;
  if (ev.missingFromStore > 0) broken.push(`${ev.missingFromStore} events missing from the event store`);
  if (ev.inStoreMoreThanOnce > 0) broken.push(`${ev.inStoreMoreThanOnce} events in the event store twice`);
  if (ev.notificationsDeliveredTwiceOnAChannel > 0)
    broken.push(`${ev.notificationsDeliveredTwiceOnAChannel} notifications delivered twice on a channel`);
  return broken;
}

/** The report's `effects`: per kind expected / done / lost / effect twice / raw duplicates, cron, events, per fault. */
export function effectsReport(
  ledger: Ledger,
  settled: { result: CheckResult; rounds: number; ms: number },
  load: LoadStats | undefined,
) {
  const { result } = settled;
  return {
    kinds: EFFECT_KINDS,
    itemsOffered: ledger.items.length,
    cronTasks: ledger.cronTasks.map((t) => ({ taskId: t.taskId, cron: t.cron })),
    load: load ?? null,
    settle: { rounds: settled.rounds, ms: settled.ms },
    executions: result.executions,
    events: result.events,
    phases: result.phases,
    schedulingLatencyMs: result.schedulingLatencyMs,
    problems: result.problems,
    verdict: result.verdict,
  };
}

/** The summary's lines: the e2e checker's counts for the kinds offered, then its first problems. */
export function effectsSummary(result: CheckResult): string[] {
  return [
    ...effectLines(result, EFFECT_KINDS),
    ...result.problems.slice(0, 10).map((problem) => `  problem: ${problem}`),
  ];
}

export async function prepareEffects(options: EffectsOptions): Promise<Effects> {
  const { stackEnv, say } = options;
  const domainSchema = stackEnv.PG_DOMAIN_SCHEMA ?? 'openpenpal';
  const kafka = kafkaFromStackEnv(stackEnv, `cluster-proof-effects-${options.runId}`);
  const side = createKafkaSide(stackEnv);
  const platform = createPlatform(stackEnv.DATABASE_URL ?? '', domainSchema);
  const apis = options.apiUrls.map((url) => createApiClient(url, stackEnv.API_JWT_SECRET ?? ''));
  const onAnyApi = async (call: (api: (typeof apis)[number]) => Promise<unknown>) => {
    let last: unknown = new Error('no API instance');
    for (const api of apis) {
      try {
        return await call(api);
      } catch (error) {
        last = error;
      }
    }
    throw last;
  };
  const ledger = createLedger(options.runId);
  // Where the evidence's topics end before the load: the checker reads from there.
  const from = await endOffsets(kafka, evidenceTopics(null));
  await onAnyApi((api) => createCronTasks(api, ledger, CRON_TASKS));
  const load = createLoad({
    ledger,
    platform,
    kafka: side,
    rate: options.rate,
    delayMinMs: DELAY_MIN_MS,
    delayMaxMs: DELAY_MAX_MS,
    kinds: EFFECT_KINDS,
  });

  return {
    ledger,
    start: () => load.start(),
    stop: (deadline) => load.stop(deadline),
    settle: async (phases, deadline) => {
      const began = Date.now();
      const lastDue = Math.max(0, ...ledger.items.map((i) => i.dueAt));
      // Effects go through a trigger, a handler and the notifier after their due time: look once they had a moment.
      await sleep(Math.max(0, lastDue + 10_000 - Date.now()));
      for (let round = 1; ; round += 1) {
        const timings: Record<string, number> = {};
        const evidence = await gatherEvidence({
          kafka,
          platform,
          ledger,
          from,
          domainSchema,
          delayedTopic: null,
          timings,
        });
        const result = check(ledger, evidence, effectPhases(phases), {
          onTimeMs: options.onTimeMs,
          cronSettleMs: CRON_SETTLE_MS,
        });
        const v = result.verdict;
        say(
          `effects check ${round}: lost ${v.lost}, effects twice ${v.duplicatedEffects}, events missing from the store ${v.eventsMissingFromStore}, twice ${v.eventsInStoreTwice}, notifications twice ${v.notificationsDeliveredTwice}; read ms ${JSON.stringify(timings)}`,
        );
        if (v.promisesKept || (Date.now() > deadline && round >= 2))
          return { result, rounds: round, ms: Date.now() - began };
        await sleep(5_000);
      }
    },
    removeCronTasks: async () => {
      for (const task of ledger.cronTasks) {
        await onAnyApi((api) =>
          api.expect(200, 'DELETE', `/api/v1/scheduler/tasks/${task.taskId}?reason=cluster%20proof%20done`),
        ).catch((error: unknown) => say(`could not delete ${task.taskId}: ${String(error)}`));
      }
    },
    close: async () => {
      await side.close().catch(() => undefined);
      await platform.close().catch(() => undefined);
    },
  };
}
