import { parse, v5 } from 'uuid';

/**
 * The ticker's UUID v5 namespace. Fixed forever: changing it would give every nominal time a new
 * execution id, so a handler could no longer recognise a duplicate across the change.
 */
const TICKER_NAMESPACE = '03e9e948-bde7-4e9d-b014-a2bc6cba4a39';

// Parsed once: uuid parses a string namespace on every call, which is most of its cost.
const namespace = parse(TICKER_NAMESPACE);

/** The execution of a task's nominal fire time: UUID v5 of `<task_id>@<nominal epoch ms>`. */
export function cronExecutionId(taskId: string, nominal: number): string {
  return v5(`${taskId}@${nominal}`, namespace);
}

/** The execution a run_now command asks for: UUID v5 of `run_now:<command_id>`. */
export function runNowExecutionId(commandId: string): string {
  return v5(`run_now:${commandId}`, namespace);
}

export type ExecutionEventKind = 'triggered' | 'missed' | 'skipped';

/**
 * Ids of the events the ticker writes about an execution, derived too: writing one again after a
 * crash or a leader hand-over yields the same event id, which the recorder stores once.
 */
export function executionEventId(executionId: string, kind: ExecutionEventKind): string {
  return v5(`${executionId}:${kind}`, namespace);
}
