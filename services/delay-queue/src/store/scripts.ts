import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { FIRED_LOOKUP_KEYS, type DelayStoreKeys } from './keys.ts';

/** A standalone client or a cluster client; all of a store's keys share one slot. */
export type RedisClient = Redis | Cluster;

const INCLUDE_MARKER = '-- @include item';

/**
 * The Lua scripts, one per state change, each registered with `defineCommand` (EVALSHA with an
 * automatic EVAL fallback). The `dq` prefix keeps the command names clear of other code that
 * defines commands on the same client.
 */
const DEFINITIONS = {
  dqSchedule: { file: 'schedule', numberOfKeys: 4 + FIRED_LOOKUP_KEYS },
  dqCancel: { file: 'cancel', numberOfKeys: 4 + FIRED_LOOKUP_KEYS },
  dqClaimDue: { file: 'claim-due', numberOfKeys: 4 },
  dqAck: { file: 'ack', numberOfKeys: 5 },
  dqRelease: { file: 'release', numberOfKeys: 4 },
} as const;

type CommandName = keyof typeof DEFINITIONS;
type Arg = string | number | Buffer;
type Command = (...args: Arg[]) => Promise<unknown>;

let sources: Record<CommandName, string> | undefined;

function readLua(file: string): string {
  return readFileSync(new URL(`./lua/${file}.lua`, import.meta.url), 'utf8');
}

/** Script sources with the shared item functions pasted in (read once, on first use). */
function scriptSources(): Record<CommandName, string> {
  if (sources) return sources;
  const shared = readLua('item');
  const built = {} as Record<CommandName, string>;
  for (const [name, { file }] of Object.entries(DEFINITIONS) as [CommandName, { file: string }][]) {
    const source = readLua(file);
    if (!source.includes(INCLUDE_MARKER)) throw new Error(`lua/${file}.lua lacks "${INCLUDE_MARKER}"`);
    // A replacer function, because a replacement string would interpret `$` sequences.
    built[name] = source.replace(INCLUDE_MARKER, () => shared);
  }
  sources = built;
  return built;
}

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
  claimDue(
    keys: DelayStoreKeys,
    now: number,
    limit: number,
    expiresAt: number,
    token: string,
  ): Promise<ClaimReply>;
  ack(keys: DelayStoreKeys, now: number, pairs: string[]): Promise<number[]>;
  release(keys: DelayStoreKeys, pairs: string[]): Promise<number[]>;
}

export function defineStoreScripts(redis: RedisClient): StoreScripts {
  const lua = scriptSources();
  for (const [name, { numberOfKeys }] of Object.entries(DEFINITIONS) as [
    CommandName,
    { numberOfKeys: number },
  ][]) {
    redis.defineCommand(name, { lua: lua[name], numberOfKeys });
  }
  // defineCommand adds methods at run time; this is the one place that reaches for them.
  const commands = redis as unknown as Record<CommandName | 'dqClaimDueBuffer', Command>;
  const call = (name: CommandName | 'dqClaimDueBuffer', args: Arg[]): Promise<unknown> =>
    commands[name].apply(redis, args);
  const base = (keys: DelayStoreKeys): string[] => [
    keys.pending,
    keys.inFlight,
    keys.items,
    keys.replacements,
  ];

  return {
    schedule: async (keys, now, item) =>
      (await call('dqSchedule', [
        ...base(keys),
        ...keys.firedLookup(now),
        item.id,
        item.dueAt,
        item.record,
        keys.wakeChannel,
        item.ifPending,
      ])) as string,
    cancel: async (keys, now, id) =>
      (await call('dqCancel', [...base(keys), ...keys.firedLookup(now), id])) as string,
    // The Buffer variant, because records are bytes; ids and numbers are decoded by the caller.
    claimDue: async (keys, now, limit, expiresAt, token) =>
      (await call('dqClaimDueBuffer', [...base(keys), now, limit, expiresAt, token])) as ClaimReply,
    ack: async (keys, now, pairs) => {
      const bucket = keys.firedWrite(now);
      return (await call('dqAck', [
        ...base(keys),
        bucket.key,
        bucket.expireAt,
        keys.wakeChannel,
        ...pairs,
      ])) as number[];
    },
    release: async (keys, pairs) =>
      (await call('dqRelease', [...base(keys), keys.wakeChannel, ...pairs])) as number[],
  };
}
