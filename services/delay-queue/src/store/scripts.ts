import { loadLuaScripts, type RedisClient } from '@openpenpal/redis';
import { FIRED_LOOKUP_KEYS, type DelayStoreKeys } from './keys.ts';

export type { RedisClient };

/**
 * The Lua scripts, one per state change (`lua/*.lua`, each with its KEYS/ARGV/Returns header and
 * the shared item functions included), registered with `defineCommand` (EVALSHA with an automatic
 * EVAL fallback) under the `dq` namespace, clear of other code defining commands on the client.
 */
const DEFINITIONS = {
  schedule: { file: 'schedule', numberOfKeys: 4 + FIRED_LOOKUP_KEYS },
  cancel: { file: 'cancel', numberOfKeys: 4 + FIRED_LOOKUP_KEYS },
  applyRequests: { file: 'apply-requests', numberOfKeys: 4 + FIRED_LOOKUP_KEYS },
  claimDue: { file: 'claim-due', numberOfKeys: 4 },
  ack: { file: 'ack', numberOfKeys: 5 },
  release: { file: 'release', numberOfKeys: 4 },
  drop: { file: 'drop', numberOfKeys: 4 },
  known: { file: 'known', numberOfKeys: 4 + FIRED_LOOKUP_KEYS },
} as const;

/** One flat reply of claim-due: six entries per item (see lua/claim-due.lua). */
export type ClaimReply = Buffer[];

/** Typed calls of the store's scripts; key lists come from keys.ts, argument order from the headers. */
export interface StoreScripts {
  schedule(
    keys: DelayStoreKeys,
    now: number,
    item: { id: string; dueAt: number; record: Buffer; ifPending: 'keep' | 'replace' },
  ): Promise<string>;
  cancel(keys: DelayStoreKeys, now: number, id: string): Promise<string>;
  /** Five arguments per request (see lua/apply-requests.lua); one outcome per request. */
  applyRequests(
    keys: DelayStoreKeys,
    now: number,
    requestArgs: (string | number | Buffer)[],
  ): Promise<string[]>;
  claimDue(
    keys: DelayStoreKeys,
    now: number,
    limit: number,
    expiresAt: number,
    token: string,
  ): Promise<ClaimReply>;
  ack(keys: DelayStoreKeys, now: number, pairs: string[]): Promise<number[]>;
  release(keys: DelayStoreKeys, notBefore: number, pairs: string[]): Promise<number[]>;
  drop(keys: DelayStoreKeys, pairs: string[]): Promise<number[]>;
  known(keys: DelayStoreKeys, now: number, ids: string[]): Promise<number[]>;
}

export function defineStoreScripts(redis: RedisClient): StoreScripts {
  const lua = loadLuaScripts(redis, {
    dir: new URL('./lua/', import.meta.url),
    namespace: 'dq',
    scripts: DEFINITIONS,
  });
  const base = (keys: DelayStoreKeys): string[] => [
    keys.pending,
    keys.inFlight,
    keys.items,
    keys.replacements,
  ];

  return {
    schedule: async (keys, now, item) =>
      (await lua.schedule(
        [...base(keys), ...keys.firedLookup(now)],
        [item.id, item.dueAt, item.record, keys.wakeChannel, item.ifPending],
      )) as string,
    cancel: async (keys, now, id) =>
      (await lua.cancel([...base(keys), ...keys.firedLookup(now)], [id])) as string,
    applyRequests: async (keys, now, requestArgs) =>
      (await lua.applyRequests(
        [...base(keys), ...keys.firedLookup(now)],
        [keys.wakeChannel, ...requestArgs],
      )) as string[],
    // The Buffer variant, because records are bytes; ids and numbers are decoded by the caller.
    claimDue: async (keys, now, limit, expiresAt, token) =>
      (await lua.buffers.claimDue(base(keys), [now, limit, expiresAt, token])) as ClaimReply,
    ack: async (keys, now, pairs) => {
      const bucket = keys.firedWrite(now);
      return (await lua.ack(
        [...base(keys), bucket.key],
        [bucket.expireAt, keys.wakeChannel, ...pairs],
      )) as number[];
    },
    release: async (keys, notBefore, pairs) =>
      (await lua.release(base(keys), [keys.wakeChannel, notBefore, ...pairs])) as number[],
    drop: async (keys, pairs) => (await lua.drop(base(keys), [keys.wakeChannel, ...pairs])) as number[],
    known: async (keys, now, ids) =>
      (await lua.known([...base(keys), ...keys.firedLookup(now)], ids)) as number[],
  };
}
