import type { TaskCommand, TaskDefinition } from '@openpenpal/contracts';
import { SchedulerError, toError } from '@openpenpal/errors';
import { checkCommandValue } from '@openpenpal/task-definitions/validation';
import type { Clock } from '@openpenpal/timing';
import type { Logger } from 'pino';
import type { DefinitionOrigin, TaskBook } from '../definitions/task-book.ts';
import type { FirePublisher } from '../kafka/publisher.ts';
import type { Leadership } from '../lease/lease.ts';
import type { CommandOutcome, TickerObserver } from '../metrics/observer.ts';
import { planBatch } from '../planning/batch-plan.ts';
import {
  createLeaderState,
  nextWake,
  popDue,
  scheduleTask,
  type LeaderState,
  type QueuedCommand,
} from '../planning/leader-state.ts';
import { isFencedOut, type InflightMarker, type TickerStore } from '../store/store.ts';
import { applyBatch } from './batch-apply.ts';
import { BatchFailed, ReleaseCancelled, executeBatch, type Release } from './fire-batch.ts';
import { runNowExecutionId } from './ids.ts';
import { reconcile } from './reconcile.ts';

export interface SchedulerOptions {
  book: TaskBook;
  store: TickerStore;
  publisher: FirePublisher;
  clock: Clock;
  logger: Logger;
  observer: TickerObserver;
  /** The lease's current valid term; checked before every send. */
  currentTerm(): Leadership | undefined;
  worker: string;
  forbidSlackMs: number;
  retryBackoffMs: number;
  reconcileLookbackMs: number;
  /** Plan, fence and encode a due instant this long ahead, then release it on time (0: off). */
  prepareAheadMs: number;
  /** A run_now requested longer ago than this is not fired (a new deployment replaying old commands). */
  runNowMaxAgeMs: number;
  /** The leader loop broke on something other than losing the lease: the ticker cannot go on. */
  onFatal?: (error: Error) => void;
}

export interface Scheduler {
  /** A definition from the table (null: deleted), with the record it came from. Standbys keep the table too. */
  setDefinition(taskId: string, def: TaskDefinition | null, origin?: DefinitionOrigin): void;
  /** Starts firing under this term. */
  lead(term: Leadership): void;
  /** Stops firing at once; resolves when the term's loop has ended. */
  stepDown(): Promise<void>;
  /**
   * Applies an operator command (leader only); resolves once it is durable. Rejects with
   * VALIDATION_FAILED naming the field when the command breaks the shared rules.
   */
  command(command: TaskCommand): Promise<CommandOutcome>;
  role(): 'leader' | 'standby';
  /** The pause state while leading; undefined on a standby. */
  isPaused(): boolean | undefined;
  /** Resolves when the leader has nothing pending before `now` (tests and the benchmark). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

interface Term {
  term: Leadership;
  stop: AbortController;
  state: LeaderState | undefined;
  changed: Set<string>;
  commands: QueuedCommand[];
  wake: AbortController;
  loop: Promise<void>;
  busy: boolean;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { book, store, clock, observer } = options;
  const logger = options.logger.child({ component: 'scheduler' });
  const doneRunNow = new Set<string>();
  const idleWaiters: (() => void)[] = [];
  let current: Term | undefined;
  let closed = false;

  const wake = (term: Term) => term.wake.abort();

  const sleep = (term: Term, until: number) => {
    term.wake = new AbortController();
    return clock.sleepUntil(until, AbortSignal.any([term.wake.signal, term.stop.signal]));
  };

  const settleIdle = (term: Term) => {
    const state = term.state;
    const head = state ? nextWake(state) : undefined;
    if (term.changed.size > 0 || term.commands.length > 0 || (head !== undefined && head <= clock.now()))
      return;
    for (const resolve of idleWaiters.splice(0)) resolve();
  };

  const requeue = (
    term: Term,
    state: LeaderState,
    inputs: { changed: Set<string>; commands: QueuedCommand[]; due: Map<string, number> },
  ) => {
    for (const id of inputs.changed) term.changed.add(id);
    term.commands.unshift(...inputs.commands);
    for (const [taskId, at] of inputs.due) {
      const task = state.tasks.get(taskId);
      if (task) scheduleTask(state, taskId, task, at);
    }
  };

  const backoff = (term: Term) => sleep(term, clock.now() + options.retryBackoffMs);

  const reconcileUntilDone = async (term: Term, state: LeaderState, marker: InflightMarker) => {
    while (!term.stop.signal.aborted) {
      try {
        // Transactional sends: take the transactional id over first, so a transaction left open
        // (by a predecessor, or by a failed commit of this leader) is aborted — or, if it was
        // committing, finished — before the read-back decides what was sent.
        await options.publisher.takeOver?.();
        const done = await reconcile(
          {
            store,
            publisher: options.publisher,
            book,
            clock,
            logger,
            worker: options.worker,
            forbidSlackMs: options.forbidSlackMs,
            lookbackMs: options.reconcileLookbackMs,
          },
          state,
          marker,
        );
        for (const id of done) doneRunNow.add(id);
        return;
      } catch (error) {
        if (isFencedOut(error)) throw error;
        logger.warn({ err: toError(error) }, 'reconciliation failed; retrying');
        await backoff(term);
      }
    }
  };

  /** A new leader fences its predecessor's transactional producer before it fires anything. */
  const takeOverUntilDone = async (term: Term) => {
    while (!term.stop.signal.aborted && options.publisher.takeOver) {
      try {
        await options.publisher.takeOver();
        return;
      } catch (error) {
        logger.warn({ err: toError(error) }, 'taking the transactional id over failed; retrying');
        await backoff(term);
      }
    }
  };

  /** A prepared batch goes only if nothing it was planned on changed while it waited. */
  const releaseOf = (term: Term, at: number, due: ReadonlyMap<string, number>): Release => ({
    at,
    stillValid: () =>
      !term.stop.signal.aborted &&
      !term.commands.some((q) => q.command.command === 'pause' || q.command.command === 'resume') &&
      ![...term.changed].some((taskId) => due.has(taskId)),
  });

  const iteration = async (term: Term, state: LeaderState) => {
    if (term.changed.size === 0 && term.commands.length === 0) {
      settleIdle(term);
      const head = nextWake(state);
      await sleep(term, head === undefined ? Number.POSITIVE_INFINITY : head - options.prepareAheadMs);
    }
    if (term.stop.signal.aborted) return;
    if (options.currentTerm()?.token !== term.term.token) {
      logger.warn({ token: term.term.token }, 'lease no longer valid; not firing');
      term.stop.abort();
      return;
    }
    const awake = clock.now();
    const head = nextWake(state);
    // Nothing else pending and the next instant is near: prepare it now, release it on time.
    const ahead =
      term.changed.size === 0 &&
      term.commands.length === 0 &&
      head !== undefined &&
      head > awake &&
      head - awake <= options.prepareAheadMs;
    const now = ahead ? head : awake;
    const inputs = { changed: term.changed, commands: term.commands, due: popDue(state, now) };
    if (inputs.changed.size === 0 && inputs.commands.length === 0 && inputs.due.size === 0) return;
    term.changed = new Set();
    term.commands = [];
    const batch = planBatch({ now, book, state, ...inputs, doneRunNow });
    term.busy = true;
    try {
      await executeBatch(
        { ...options, observer },
        term.term,
        batch,
        ahead ? releaseOf(term, now, inputs.due) : undefined,
      );
      applyBatch(state, batch, { observer, logger, doneRunNow });
    } catch (error) {
      const cause = error instanceof BatchFailed ? error.cause : error;
      requeue(term, state, inputs);
      if (cause instanceof ReleaseCancelled) return;
      if (isFencedOut(cause)) throw cause;
      observer.batchFailed();
      logger.error({ err: toError(cause) }, 'fire batch failed; retrying');
      if (error instanceof BatchFailed && error.marker) await reconcileUntilDone(term, state, error.marker);
      await backoff(term);
    } finally {
      term.busy = false;
    }
  };

  const runTerm = async (term: Term) => {
    try {
      let loaded: Awaited<ReturnType<TickerStore['load']>> | undefined;
      while (!loaded && !term.stop.signal.aborted) {
        loaded = await store.load().catch(async (error: unknown) => {
          logger.warn({ err: toError(error) }, 'could not load the ticker state; retrying');
          await backoff(term);
          return undefined;
        });
      }
      if (!loaded) return;
      const state = createLeaderState(term.term, loaded.pause, loaded.checkpoints);
      for (const id of book.ids()) term.changed.add(id);
      for (const id of loaded.checkpoints.keys()) term.changed.add(id);
      observer.paused(loaded.pause.paused);
      if (loaded.inflight) await reconcileUntilDone(term, state, loaded.inflight);
      else await takeOverUntilDone(term);
      term.state = state;
      logger.info(
        { token: term.term.token, tasks: term.changed.size, paused: loaded.pause.paused },
        'leading',
      );
      while (!term.stop.signal.aborted) await iteration(term, state);
    } catch (error) {
      if (isFencedOut(error)) logger.warn({ token: term.term.token }, 'fenced out by a newer leader');
      else {
        logger.error({ err: toError(error) }, 'leader loop failed');
        options.onFatal?.(toError(error));
      }
    } finally {
      term.stop.abort();
      const shutting = new SchedulerError('SHUTTING_DOWN', 'this ticker is no longer the leader');
      for (const queued of term.commands.splice(0)) queued.reject(shutting);
      if (current === term) current = undefined;
      observer.leader(false);
      for (const resolve of idleWaiters.splice(0)) resolve();
    }
  };

  const stepDown = async () => {
    const term = current;
    if (!term) return;
    term.stop.abort();
    await term.loop;
  };

  return {
    setDefinition: (taskId, def, origin) => {
      if (!book.apply(taskId, def, origin)) return;
      const term = current;
      if (term) {
        term.changed.add(taskId);
        wake(term);
      }
    },
    lead: (leadership) => {
      if (closed || current?.term.token === leadership.token) return;
      void stepDown();
      const term: Term = {
        term: leadership,
        stop: new AbortController(),
        state: undefined,
        changed: new Set(),
        commands: [],
        wake: new AbortController(),
        loop: Promise.resolve(),
        busy: false,
      };
      current = term;
      observer.leader(true);
      term.loop = runTerm(term);
    },
    stepDown,
    command: async (command) => {
      try {
        checkCommandValue(command);
      } catch (error) {
        observer.command(command.command, 'invalid');
        throw error;
      }
      const term = current;
      if (!term) throw new SchedulerError('SHUTTING_DOWN', 'this ticker is not the leader');
      if (command.command === 'run_now') {
        const executionId = runNowExecutionId(command.command_id);
        if (doneRunNow.has(executionId) || (await store.doneExecutions([executionId])).has(executionId)) {
          observer.command(command.command, 'duplicate');
          return 'duplicate';
        }
        // A new commands group starts at the earliest offset, so a new deployment (empty Redis)
        // would fire every run_now of the topic's retention again. No event is written: this
        // ticker cannot tell a command a previous deployment applied from one nobody did.
        const ageMs = clock.now() - command.requested_at;
        if (ageMs > options.runNowMaxAgeMs) {
          logger.warn(
            {
              commandId: command.command_id,
              taskId: command.task_id,
              ageMs,
              maxAgeMs: options.runNowMaxAgeMs,
            },
            'run_now older than TICKER_RUN_NOW_MAX_AGE_MS ignored',
          );
          observer.command(command.command, 'expired');
          return 'expired';
        }
      }
      return new Promise<CommandOutcome>((resolve, reject) => {
        term.commands.push({ command, resolve, reject });
        wake(term);
      });
    },
    role: () => (current ? 'leader' : 'standby'),
    isPaused: () => current?.state?.pause.paused,
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        const term = current;
        if (!term) resolve();
        else if (!term.busy && term.state) {
          settleIdle(term);
          wake(term);
        }
      }),
    close: async () => {
      closed = true;
      await stepDown();
    },
  };
}
