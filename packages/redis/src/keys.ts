/**
 * Key names under one prefix wrapped in a hash tag (`{prefix}:name`): all of one owner's keys land
 * in one Redis Cluster slot, so a Lua script may touch any of them atomically.
 */
export interface KeySpace {
  /** `{prefix}`: the hash tag itself. */
  tag: string;
  /** `{prefix}:part1:part2…` */
  key(...parts: readonly (string | number)[]): string;
  /** SCAN pattern matching every key of the space. */
  pattern: string;
}

export function keySpace(prefix: string): KeySpace {
  // Braces inside the prefix would end the hash tag early and scatter keys across slots.
  if (prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new TypeError(`a Redis key prefix must be non-empty and free of braces, got "${prefix}"`);
  }
  const tag = `{${prefix}}`;
  return { tag, key: (...parts) => [tag, ...parts].join(':'), pattern: `${tag}:*` };
}
