/**
 * Avro unions of several records arrive wrapped, `{ "org.openpenpal.scheduler.TaskTriggered": {...} }`,
 * so the branch survives a round trip. `unionBranch` turns one into a discriminated union on the
 * branch's full name, which TypeScript narrows in a `switch`.
 */
export type UnionBranch<U> = U extends unknown
  ? { [K in keyof U]: { name: K; value: U[K] } }[keyof U]
  : never;

export function unionBranch<U extends object>(union: U): UnionBranch<U> {
  const keys = Object.keys(union);
  const name = keys[0];
  if (keys.length !== 1 || name === undefined) {
    throw new TypeError(`a wrapped union holds exactly one branch, got ${keys.length}`);
  }
  return { name, value: (union as Record<string, unknown>)[name] } as UnionBranch<U>;
}

/** The short (namespace-less) name of a branch: `TaskTriggered` for `org.openpenpal.scheduler.TaskTriggered`. */
export function shortName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}
