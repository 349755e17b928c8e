import { loadLuaScripts, type LoadedScripts } from '@openpenpal/redis';
import type { Redis } from 'ioredis';

/**
 * Every Redis state change of the ticker is one of these scripts (`lua/<file>.lua`, each with its
 * KEYS/ARGV/Returns header), run atomically by Redis. Fenced scripts first compare the lease with
 * the caller's lease value (`lua/fenced.lua`) and change nothing when a newer leader holds it.
 */
const SCRIPTS = {
  acquireLease: { file: 'acquire-lease', numberOfKeys: 2 },
  leaseState: { file: 'lease-state', numberOfKeys: 2 },
  renewLease: { file: 'renew-lease', numberOfKeys: 1 },
  releaseLease: { file: 'release-lease', numberOfKeys: 1 },
  beginFire: { file: 'begin-fire', numberOfKeys: 3 },
  commitFire: { file: 'commit-fire', numberOfKeys: 6 },
  setPause: { file: 'set-pause', numberOfKeys: 2 },
  finishRunning: { file: 'finish-running', numberOfKeys: 2 },
  recordDeadLetters: { file: 'record-dead-letters', numberOfKeys: 2 },
} as const;

export type TickerScripts = LoadedScripts<keyof typeof SCRIPTS>;

/** Registers the scripts on the connection (EVALSHA, falling back to EVAL after a SCRIPT FLUSH). */
export function loadTickerScripts(redis: Redis): TickerScripts {
  return loadLuaScripts(redis, {
    dir: new URL('./lua/', import.meta.url),
    namespace: 'ticker',
    scripts: SCRIPTS,
  });
}
