import type { TaskCommand, TaskDefinition } from '@openpenpal/contracts';
import type { EventStore } from '@openpenpal/event-store';
import type { OutgoingMessage, Producer } from '@openpenpal/messaging';
import {
  TASK_CATEGORY,
  definitionMessage,
  evolveTask,
  foldTask,
  parseTaskEvent,
  parseTaskEvents,
  runNowCommand,
  type RecordedTaskEvent,
  type TaskState,
} from '@openpenpal/task-definitions';
import type { Logger } from 'pino';
import { createCheckpointedSubscriber, type CheckpointedSubscriber } from '../checkpointed-subscriber.ts';
import { CHECKPOINT, type Checkpoints } from '../read-models/checkpoints.ts';

export interface RelayTopics {
  definitions: string;
  commands: string;
}

export interface RelayObserver {
  onPublished(kind: 'definition' | 'tombstone' | 'run_now', count: number): void;
}

/**
 * Folds a task stream up to a revision, remembering the last state per task: the relay meets a task's
 * events in order, so each one usually evolves the state it already holds.
 */
function createStateCache(store: EventStore) {
  const states = new Map<string, TaskState>();
  return async (event: RecordedTaskEvent, streamId: string): Promise<TaskState | undefined> => {
    const held = states.get(streamId);
    let state: TaskState | undefined;
    if (held?.revision === event.revision - 1) {
      state = evolveTask(held, event);
    } else {
      const recorded = await store.readStream(streamId, { maxCount: event.revision + 1 });
      state = foldTask(parseTaskEvents(recorded));
    }
    if (state === undefined) states.delete(streamId);
    else states.set(streamId, state);
    return state;
  };
}

/**
 * The definition relay: a checkpointed subscription on category `task` that publishes each definition
 * change to the compacted task-definitions topic (key task_id; the whole definition, or a tombstone for
 * a deleted task) and each run request as a `run_now` command. The checkpoint moves only after Kafka
 * acknowledged (acks=all), so a crash re-publishes rather than loses: a re-published definition carries
 * the same revision, which consumers ignore, and a run_now command the same command id.
 */
export function createDefinitionRelay(options: {
  store: EventStore;
  producer: Producer;
  checkpoints: Checkpoints;
  topics: RelayTopics;
  logger: Logger;
  observer?: RelayObserver;
  maxBatch?: number;
  flushDelayMs?: number;
  /** The relay stopped for good (a failure that is not retryable). */
  onFatal?: (error: Error) => void;
}): CheckpointedSubscriber {
  const { store, producer, checkpoints, topics } = options;
  const stateAt = createStateCache(store);
  return createCheckpointedSubscriber({
    name: CHECKPOINT.relay,
    store,
    category: TASK_CATEGORY,
    checkpoints,
    logger: options.logger,
    maxBatch: options.maxBatch ?? 500,
    flushDelayMs: options.flushDelayMs ?? 20,
    ...(options.onFatal ? { onFatal: options.onFatal } : {}),
    handle: async ({ events, from, to }) => {
      const definitions: OutgoingMessage<TaskDefinition>[] = [];
      const commands: OutgoingMessage<TaskCommand>[] = [];
      for (const recorded of events) {
        const event = parseTaskEvent(recorded);
        if (event === undefined) continue;
        // Run requests go through the cache too, so that it stays one revision behind the next event.
        const state = await stateAt(event, recorded.streamId);
        if (event.type === 'TaskRunRequested') {
          commands.push({
            key: event.data.task_id,
            value: runNowCommand(recorded.id, event),
            messageId: recorded.id,
          });
        } else if (state !== undefined) {
          definitions.push({ ...definitionMessage(state), messageId: recorded.id });
        }
      }
      if (definitions.length > 0) {
        await producer.send({ topic: topics.definitions, schema: 'TaskDefinition' }, definitions);
        const tombstones = definitions.filter((message) => message.value === null).length;
        options.observer?.onPublished('definition', definitions.length - tombstones);
        if (tombstones > 0) options.observer?.onPublished('tombstone', tombstones);
      }
      if (commands.length > 0) {
        await producer.send({ topic: topics.commands, schema: 'TaskCommand' }, commands);
        options.observer?.onPublished('run_now', commands.length);
      }
      return checkpoints.advance(CHECKPOINT.relay, from, to);
    },
  });
}
