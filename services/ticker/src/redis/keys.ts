/**
 * Every Redis key the ticker uses. The prefix is wrapped in a hash tag (`{prefix}:name`) so that
 * all keys land in one Redis Cluster slot: the fenced scripts read the lease and write the
 * checkpoints in one atomic call, which Cluster allows only within a slot.
 */
export interface TickerKeys {
  /** String `<owner>:<token>` with a TTL: who leads, under which fencing token. */
  lease: string;
  /** Counter INCRed on every acquisition: the fencing token. */
  fence: string;
  /** Hash task_id → `<last nominal ms>|<run count>|<off 0/1>`. */
  checkpoints: string;
  /** String JSON `{ token, since }`: a fire was begun and not yet committed (reconciled on takeover). */
  inflight: string;
  /** String JSON of the global pause state. */
  pause: string;
  /** Hash task_id → `<execution id>|<deadline ms>` for tasks whose policy forbids overlap. */
  running: string;
  /** Hash task_id → the last execution id that finished without holding the running slot. */
  finished: string;
  /** Sorted set of the execution ids of applied run_now commands, scored by when applied. */
  commandsDone: string;
}

export function tickerKeys(prefix: string): TickerKeys {
  if (prefix.includes('{') || prefix.includes('}')) {
    throw new Error('the Redis prefix must not contain braces; it is wrapped in a hash tag');
  }
  const tag = `{${prefix}}`;
  return {
    lease: `${tag}:lease`,
    fence: `${tag}:fence`,
    checkpoints: `${tag}:checkpoints`,
    inflight: `${tag}:inflight`,
    pause: `${tag}:pause`,
    running: `${tag}:running`,
    finished: `${tag}:finished`,
    commandsDone: `${tag}:commands-done`,
  };
}
