import { readFileSync } from 'node:fs';
import { ATTR, SpanKind, isInsideSpan, startSpan } from '@openpenpal/telemetry';
import type { Cluster, Redis } from 'ioredis';

/** A standalone client or a cluster client. */
export type RedisClient = Redis | Cluster;

type Arg = string | number | Buffer;

export interface ScriptDefinition {
  /** File name in the scripts folder, without `.lua`. */
  file: string;
  /** How many of a call's arguments are keys (the rest are ARGV). */
  numberOfKeys: number;
}

/** Runs a loaded script: keys first, then arguments, as the file's header lists them. */
export type ScriptCall = (keys: readonly Arg[], args: readonly Arg[]) => Promise<unknown>;

export type LoadedScripts<N extends string> = Record<N, ScriptCall> & {
  /** The same scripts returning bulk strings as Buffers (records stored as bytes). */
  buffers: Record<N, ScriptCall>;
  /** The sources as sent to Redis, includes resolved (for tests and SCRIPT LOAD). */
  sources: Record<N, string>;
};

const INCLUDE = /^--\s*@include\s+([\w-]+)\s*$/gm;

/**
 * Reads `<dir>/<file>.lua`, checks that it opens with a header comment naming its KEYS, ARGV and
 * return value, and pastes in every `-- @include <name>` line's `<dir>/<name>.lua` (one level:
 * included files hold shared local functions and include nothing).
 */
export function readLuaScript(dir: URL, file: string): string {
  const read = (name: string) => readFileSync(new URL(`${name}.lua`, dir), 'utf8');
  const source = read(file);
  const header = source.slice(0, source.search(/^[^-\s]/m) >>> 0);
  for (const word of ['KEYS', 'ARGV', 'Returns']) {
    if (!header.includes(word)) {
      throw new Error(
        `${file}.lua: the header comment must list ${word} (one script per state change, documented)`,
      );
    }
  }
  // A replacer function, because a replacement string would interpret `$` sequences.
  return source.replace(INCLUDE, (_line, name: string) => read(name));
}

/**
 * Registers each script on the client with `defineCommand` (EVALSHA with an automatic EVAL
 * fallback after a restart or SCRIPT FLUSH) under `<namespace><Name>`, so commands of different
 * owners on one client never clash, and returns typed calls. Inside a recording span, a call is a
 * client span `EVALSHA <file>` (db.system.name redis, db.operation.name EVALSHA,
 * db.stored_procedure.name the file); outside one, or without a tracing SDK, it is only the call.
 */
export function loadLuaScripts<N extends string>(
  redis: RedisClient,
  options: { dir: URL; namespace: string; scripts: Record<N, ScriptDefinition> },
): LoadedScripts<N> {
  const calls = {} as Record<N, ScriptCall>;
  const buffers = {} as Record<N, ScriptCall>;
  const sources = {} as Record<N, string>;
  // defineCommand adds methods at run time; this is the one place that reaches for them.
  const commands = redis as unknown as Record<string, (...args: Arg[]) => Promise<unknown>>;
  for (const [name, definition] of Object.entries(options.scripts) as [N, ScriptDefinition][]) {
    const lua = readLuaScript(options.dir, definition.file);
    const command = `${options.namespace}${name.charAt(0).toUpperCase()}${name.slice(1)}`;
    redis.defineCommand(command, { lua, numberOfKeys: definition.numberOfKeys });
    sources[name] = lua;
    const call =
      (method: string): ScriptCall =>
      (keys, args) => {
        if (keys.length !== definition.numberOfKeys) {
          throw new TypeError(
            `${definition.file}.lua takes ${definition.numberOfKeys} keys, got ${keys.length}`,
          );
        }
        const run = commands[method];
        if (!run) throw new Error(`script command ${method} is not defined`);
        if (!isInsideSpan()) return run.apply(redis, [...keys, ...args]);
        return startSpan(`EVALSHA ${definition.file}`, () => run.apply(redis, [...keys, ...args]), {
          kind: SpanKind.CLIENT,
          attributes: {
            [ATTR.dbSystem]: 'redis',
            [ATTR.dbOperation]: 'EVALSHA',
            [ATTR.dbStoredProcedure]: definition.file,
          },
        });
      };
    calls[name] = call(command);
    buffers[name] = call(`${command}Buffer`);
  }
  return Object.assign(calls, { buffers, sources });
}
