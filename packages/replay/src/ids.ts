import { TASK_DEFINITIONS_NAMESPACE } from '@openpenpal/task-definitions';
import { parse, v5 } from 'uuid';

// The namespace replay ids were first derived in, when replay lived in task-definitions: a replay
// retried after an upgrade must derive the ids it derived before, or it would run twice.
const namespace = parse(TASK_DEFINITIONS_NAMESPACE);

/** The execution a replay command starts: the same command always re-runs as the same execution. */
export function replayExecutionId(commandId: string): string {
  return v5(`replay:${commandId}`, namespace);
}

/** Ids of the messages and events a replay writes, derived so that a retried replay repeats them. */
export function replayMessageId(executionId: string, what: 'triggered' | 'trigger' | 'link'): string {
  return v5(`${executionId}:${what}`, namespace);
}
