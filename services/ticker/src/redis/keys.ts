import { keySpace } from '@openpenpal/redis';

/**
 * Every Redis key the ticker uses. The prefix is wrapped in a hash tag (`{prefix}:name`) so that
 * all keys land in one Redis Cluster slot: the fenced scripts read the lease and write the
 * checkpoints in one atomic call, which Cluster allows only within a slot.
 */
export interface TickerKeys {
  /** String `<owner>:<token>` with a TTL: who leads, under which fencing token. */
  lease: string;
  /**
   * The highest fencing token handed out through this Redis: INCRed on every acquisition, or
   * raised to the token taken from PostgreSQL (`TICKER_LEASE_TOKENS=postgres`).
   */
  fence: string;
  /** Hash task_id → `<last nominal ms>|<run count>|<off 0/1>`. */
  checkpoints: string;
  /** String JSON `{ token, since, topics }`: a fire was begun and not yet committed (reconciled on takeover). */
  inflight: string;
  /** String JSON of the global pause state. */
  pause: string;
  /** Hash task_id → `<execution id>|<deadline ms>` for tasks whose policy forbids overlap. */
  running: string;
  /** Hash task_id → the last execution id that finished without holding the running slot. */
  finished: string;
  /** Sorted set of the execution ids of applied run_now commands, scored by when applied. */
  commandsDone: string;
  /** Hash task_id → `<partition>:<offset>` of its invalid definition record already dead-lettered. */
  definitionDeadLetters: string;
  /** SCAN pattern matching every key above. */
  pattern: string;
}

export function tickerKeys(prefix: string): TickerKeys {
  const space = keySpace(prefix);
  return {
    lease: space.key('lease'),
    fence: space.key('fence'),
    checkpoints: space.key('checkpoints'),
    inflight: space.key('inflight'),
    pause: space.key('pause'),
    running: space.key('running'),
    finished: space.key('finished'),
    commandsDone: space.key('commands-done'),
    definitionDeadLetters: space.key('definition-dead-letters'),
    pattern: space.pattern,
  };
}
