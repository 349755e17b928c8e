import { parse, v4, v5 } from 'uuid';

/**
 * The namespace of every UUID v5 this package (and `@openpenpal/replay`) derives. Fixed forever: a
 * retried command must derive the ids it derived the first time, or the event store would store it twice.
 */
export const TASK_DEFINITIONS_NAMESPACE = 'e1e847f7-4f2f-4d29-8eb2-ed744b21584c';

// Parsed once: uuid parses a string namespace on every call.
const namespace = parse(TASK_DEFINITIONS_NAMESPACE);

/** A fresh random id, for commands the caller gave no id of its own. */
export function randomId(): string {
  return v4();
}

/** The id of the n-th event a command appends: a retried command appends the same ids, stored once. */
export function commandEventId(commandId: string, index: number): string {
  return v5(`command:${commandId}:${index}`, namespace);
}

/** The creation event of a default task; `generation` tells a re-creation after a delete apart. */
export function seedEventId(taskId: string, generation: string): string {
  return v5(`seed:${taskId}:${generation}`, namespace);
}
