import type { TaskDefinition } from '@openpenpal/contracts';
import type { EventStore } from '@openpenpal/event-store';
import type { OutgoingMessage, Producer } from '@openpenpal/messaging';
import {
  TASK_CATEGORY,
  definitionMessage,
  evolveTask,
  foldTask,
  parseTaskEvent,
  parseTaskEvents,
  type TaskState,
} from '@openpenpal/task-definitions';
import type { Logger } from 'pino';

const PAGE = 1_000;
const SEND_BATCH = 500;
const MAX_ROUNDS = 10;

export interface RepublishSummary {
  definitions: number;
  tombstones: number;
  /** Passes over the tasks until none had changed since it was published. */
  rounds: number;
}

async function publish(producer: Producer, topic: string, states: readonly TaskState[]): Promise<number> {
  const messages: OutgoingMessage<TaskDefinition>[] = states.map((state) => definitionMessage(state));
  for (let index = 0; index < messages.length; index += SEND_BATCH) {
    await producer.send({ topic, schema: 'TaskDefinition' }, messages.slice(index, index + SEND_BATCH));
  }
  return messages.filter((message) => message.value === null).length;
}

/**
 * Publishes the current definition of every task in the store (a tombstone for a deleted one) to the
 * task-definitions topic: the topic can always be rebuilt from the store, for example after it was
 * lost or recreated. Safe while the relay runs: a definition this publishes may be overtaken by a
 * change the relay publishes meanwhile, so it re-reads every task afterwards and publishes again the
 * ones that changed, until a pass finds none. The last message per key is then the latest definition:
 * anything appended later is published by the relay after it.
 */
export async function republishDefinitions(deps: {
  store: EventStore;
  producer: Producer;
  topic: string;
  logger: Logger;
}): Promise<RepublishSummary> {
  const { store, producer, topic, logger } = deps;
  const states = new Map<string, TaskState>();
  for (let after = 0n; ;) {
    const page = await store.readCategory(TASK_CATEGORY, { after, maxCount: PAGE });
    for (const recorded of page) {
      const event = parseTaskEvent(recorded);
      if (event === undefined) continue;
      const state = evolveTask(states.get(recorded.streamId), event);
      if (state === undefined) states.delete(recorded.streamId);
      else states.set(recorded.streamId, state);
    }
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE) break;
    after = last.position;
  }
  const summary: RepublishSummary = { definitions: states.size, tombstones: 0, rounds: 1 };
  summary.tombstones = await publish(producer, topic, [...states.values()]);
  logger.info({ tasks: states.size, tombstones: summary.tombstones }, 'task definitions re-published');

  for (
    let changed = [...states.keys()];
    changed.length > 0 && summary.rounds < MAX_ROUNDS;
    summary.rounds++
  ) {
    const moved: TaskState[] = [];
    for (const streamId of changed) {
      const [latest] = await store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
      const held = states.get(streamId);
      if (latest === undefined || held === undefined || Number(latest.revision) === held.revision) continue;
      const state = foldTask(parseTaskEvents(await store.readStream(streamId)));
      if (state === undefined) continue;
      if (state.definition_revision !== held.definition_revision) moved.push(state);
      states.set(streamId, state);
    }
    if (moved.length === 0) break;
    summary.definitions += moved.length;
    summary.tombstones += await publish(producer, topic, moved);
    changed = moved.map((state) => `${TASK_CATEGORY}-${state.task_id}`);
  }
  return summary;
}
