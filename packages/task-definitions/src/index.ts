// Task definitions (events, fold, commands, defaults, messages)
export {
  createTaskDefinitions,
  type CommandOptions,
  type CommandResult,
  type ReasonOptions,
  type TaskDefinitions,
} from './definitions/commands.ts';
export {
  decideCreate,
  decideDelete,
  decideDisable,
  decideEnable,
  decideRunRequest,
  decideUpdate,
  taskDecider,
  type DecisionContext,
  type TaskDefinitionCommand,
} from './definitions/decide.ts';
export {
  DEFAULT_TASKS,
  seedDefaultTasks,
  type DefaultTask,
  type SeedOutcome,
} from './definitions/defaults.ts';
export {
  TASK_CATEGORY,
  TASK_EVENT_TYPES,
  parseTaskEvent,
  parseTaskEvents,
  taskStreamId,
  type RecordedTaskEvent,
  type TaskCreated,
  type TaskDeleted,
  type TaskDisabled,
  type TaskEnabled,
  type TaskEvent,
  type TaskEventType,
  type TaskRunRequested,
  type TaskUpdated,
} from './definitions/events.ts';
export {
  CONCURRENCY_POLICIES,
  FIELD_DEFAULTS,
  LIMITS,
  RUNNABLE_TASK_TYPES,
  TASK_FIELD_NAMES,
  TASK_PRIORITIES,
  type RunnableTaskType,
  type TaskDefinitionFields,
} from './definitions/fields.ts';
export { evolveTask, foldTask, type TaskState } from './definitions/fold.ts';
export {
  computeNextRunAt,
  definitionMessage,
  runNowCommand,
  toTaskDefinitionValue,
} from './definitions/messages.ts';
export {
  checkDefinition,
  checkReason,
  parseCreateInput,
  parseUpdateInput,
  TIME_RANGE,
  validationFailed,
  type CreateInput,
  type FieldProblem,
} from './definitions/validation.ts';
// Execution history (recorded events, folds)
export {
  EXECUTION_REPLAYED,
  EXECUTION_STATUSES,
  RERUNNABLE_STATUSES,
  evolveExecution,
  foldExecution,
  type ExecutionEventInput,
  type ExecutionState,
  type ExecutionStatus,
} from './history/execution-fold.ts';
export {
  RECORDED_KINDS,
  executionStreamId,
  kindOfCategory,
  recordedKeyOf,
  recordedStreamId,
  toAvroValue,
  toStoredEvent,
  type RecordedKind,
  type RecordedSchema,
} from './history/recorded-events.ts';
export { NUL_ESCAPED } from './history/nul-escape.ts';
export {
  emptyTaskStats,
  evolveTaskStats,
  type TaskRunOutcome,
  type TaskStats,
} from './history/task-stats.ts';
export { TASK_DEFINITIONS_NAMESPACE } from './ids.ts';
