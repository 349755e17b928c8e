import { SchedulerError } from '@openpenpal/errors';
import type { Redis } from 'ioredis';
import type { TickerKeys } from '../redis/keys.ts';
import type { TickerScripts } from '../redis/scripts.ts';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  fencedOut,
  type Checkpoint,
  type CommitRequest,
  type InflightMarker,
  type PauseState,
  type TickerStore,
} from './store.ts';

/** Applied run_now executions are remembered a little longer than the commands topic keeps them. */
const KEEP_DONE_MS = 8 * 24 * 60 * 60 * 1000;
/** Entries per commit call: keeps one script call (and the time Redis is busy with it) bounded. */
const COMMIT_CHUNK = 5_000;

function parseJson(text: string | null, what: string): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SchedulerError('INTERNAL', `the stored ${what} is not JSON`, { cause: error });
  }
}

export function createRedisTickerStore(redis: Redis, scripts: TickerScripts, keys: TickerKeys): TickerStore {
  const commitChunk = async (
    fence: string,
    now: number,
    part: {
      checkpoints: [string, Checkpoint][];
      deletes: readonly string[];
      running: CommitRequest['running'];
      done: readonly string[];
      clearInflight: boolean;
    },
  ) => {
    const args: (string | number)[] = [
      fence,
      now,
      KEEP_DONE_MS,
      part.clearInflight ? '1' : '0',
      part.checkpoints.length,
      part.deletes.length,
      part.running.length,
      part.done.length,
    ];
    for (const [taskId, checkpoint] of part.checkpoints) args.push(taskId, encodeCheckpoint(checkpoint));
    args.push(...part.deletes);
    for (const mark of part.running) args.push(mark.taskId, mark.executionId, mark.deadline);
    args.push(...part.done);
    const reply = await scripts.commitFire(
      [keys.lease, keys.checkpoints, keys.inflight, keys.running, keys.finished, keys.commandsDone],
      args,
    );
    if (reply === -1) throw fencedOut();
  };

  return {
    load: async () => {
      const [stored, inflight, pause] = await Promise.all([
        redis.hgetall(keys.checkpoints),
        redis.get(keys.inflight),
        redis.get(keys.pause),
      ]);
      const checkpoints = new Map<string, Checkpoint>();
      for (const [taskId, text] of Object.entries(stored)) {
        const checkpoint = decodeCheckpoint(text);
        if (checkpoint) checkpoints.set(taskId, checkpoint);
      }
      return {
        checkpoints,
        inflight: parseJson(inflight, 'inflight marker') as InflightMarker | undefined,
        pause: (parseJson(pause, 'pause state') as PauseState | undefined) ?? { paused: false },
      };
    },
    begin: async (fence, now, marker, claims) => {
      const args: (string | number)[] = [fence, now, JSON.stringify(marker)];
      for (const claim of claims) args.push(claim.taskId, claim.executionId);
      const reply = await scripts.beginFire([keys.lease, keys.inflight, keys.running], args);
      if (reply === -1) throw fencedOut();
      const refused = new Map<string, string>();
      if (Array.isArray(reply)) {
        for (let i = 0; i + 1 < reply.length; i += 2) refused.set(String(reply[i]), String(reply[i + 1]));
      }
      return refused;
    },
    commit: async (fence, now, request) => {
      const checkpoints = [...request.checkpoints];
      // Chunks keep each call short; the inflight marker goes with the last one, so a crash in
      // between leaves it for the successor to reconcile.
      const chunks = Math.max(1, Math.ceil(checkpoints.length / COMMIT_CHUNK));
      for (let i = 0; i < chunks; i += 1) {
        const last = i === chunks - 1;
        await commitChunk(fence, now, {
          checkpoints: checkpoints.slice(i * COMMIT_CHUNK, (i + 1) * COMMIT_CHUNK),
          deletes: last ? request.deletes : [],
          running: last ? request.running : [],
          done: last ? request.doneExecutions : [],
          clearInflight: last && request.clearInflight,
        });
      }
    },
    setPause: async (fence, state) => {
      const reply = await scripts.setPause([keys.lease, keys.pause], [fence, JSON.stringify(state)]);
      if (reply === -1) throw fencedOut();
    },
    doneExecutions: async (executionIds) => {
      if (executionIds.length === 0) return new Set();
      const scores = await redis.zmscore(keys.commandsDone, ...executionIds);
      return new Set(executionIds.filter((_, i) => scores[i] !== null));
    },
    finishRunning: async (taskId, executionId) =>
      (await scripts.finishRunning([keys.running, keys.finished], [taskId, executionId])) === 1,
    deadLetteredDefinitions: async () =>
      new Map(Object.entries(await redis.hgetall(keys.definitionDeadLetters))),
    recordDeadLetteredDefinitions: async (fence, dead, forget) => {
      const args: (string | number)[] = [fence, dead.length, ...dead.flat(), ...forget];
      const reply = await scripts.recordDeadLetters([keys.lease, keys.definitionDeadLetters], args);
      if (reply === -1) throw fencedOut();
    },
  };
}
