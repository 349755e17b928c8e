import type { Contracts, TaskDefinition } from '@openpenpal/contracts';
import { toError } from '@openpenpal/errors';
import {
  createConsumerRunner,
  subscription,
  type ConsumerRunner,
  type Producer,
} from '@openpenpal/messaging';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { retrying } from './retry.ts';

export interface DefinitionTable {
  /** Joins its own consumer group and starts reading the topic from the beginning. */
  start(): Promise<void>;
  /** Resolves once every partition was read up to the end it had when start() was called. */
  loaded(): Promise<void>;
  isLoaded(): boolean;
  isRunning(): boolean;
  /** Stops reading and deletes the instance's consumer group; safe to call twice. */
  close(): Promise<void>;
}

export interface DefinitionTableOptions {
  kafka: Kafka;
  admin: Admin;
  contracts: Contracts;
  /** For dead letters (a value that cannot be decoded). */
  producer: Producer;
  logger: Logger;
  topic: string;
  /** Unique per process: every replica needs the whole table, so none may share partitions. */
  groupId: string;
  onDefinition(taskId: string, def: TaskDefinition | null): void;
}

/**
 * The table of task definitions, rebuilt from the compacted definitions topic at every start and
 * kept live afterwards. "Loaded" means read up to the high watermarks taken at start; before
 * that the ticker must not lead, or it would take tasks it has not seen yet for deleted.
 */
export function createDefinitionTable(options: DefinitionTableOptions): DefinitionTable {
  const logger = options.logger.child({ component: 'definition-table', topic: options.topic });
  /** partition → the offset the table must reach (the high watermark at start). */
  const remaining = new Map<number, bigint>();
  let loadedFlag = false;
  let resolveLoaded: () => void = () => undefined;
  const loadedPromise = new Promise<void>((resolve) => {
    resolveLoaded = resolve;
  });
  let runner: ConsumerRunner | undefined;
  let closing: Promise<void> | undefined;
  let received = 0;

  const markLoaded = () => {
    if (loadedFlag || remaining.size > 0) return;
    loadedFlag = true;
    logger.info({ definitions: received }, 'task definitions loaded');
    resolveLoaded();
  };

  const progress = (partition: number, offset: string) => {
    received += 1;
    const target = remaining.get(partition);
    if (target !== undefined && BigInt(offset) + 1n >= target) {
      remaining.delete(partition);
      markLoaded();
    }
  };

  // A message that could not be decoded goes to the DLQ without reaching the handler; the offsets
  // the runner commits still pass it, so they are watched too until the table is loaded.
  const watchCommits = async () => {
    while (!loadedFlag && !closing) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      try {
        const [entry] = await options.admin.fetchOffsets({
          groupId: options.groupId,
          topics: [options.topic],
        });
        for (const { partition, offset } of entry?.partitions ?? []) {
          const target = remaining.get(partition);
          if (target !== undefined && BigInt(offset) >= target) remaining.delete(partition);
        }
        markLoaded();
      } catch (error) {
        logger.debug({ err: toError(error) }, 'could not read the table group offsets');
      }
    }
  };

  return {
    start: async () => {
      const offsets = await retrying(
        'reading the definitions topic end offsets',
        () => options.admin.fetchTopicOffsets(options.topic),
        { logger },
      );
      for (const { partition, high, low } of offsets) {
        if (BigInt(high) > BigInt(low)) remaining.set(partition, BigInt(high));
      }
      runner = createConsumerRunner({
        kafka: options.kafka,
        contracts: options.contracts,
        producer: options.producer,
        logger,
        groupId: options.groupId,
        fromBeginning: true,
        shutdownDeadlineMs: 5_000,
        subscriptions: [
          subscription(
            { topic: options.topic, schema: 'TaskDefinition' },
            (message) => {
              options.onDefinition(message.key ?? message.value.task_id, message.value);
              progress(message.partition, message.offset);
              return Promise.resolve();
            },
            (message) => {
              if (message.key !== null) options.onDefinition(message.key, null);
              progress(message.partition, message.offset);
              return Promise.resolve();
            },
          ),
        ],
      });
      await runner.start();
      markLoaded();
      if (!loadedFlag) void watchCommits();
    },
    loaded: () => loadedPromise,
    isLoaded: () => loadedFlag,
    isRunning: () => runner?.isRunning() ?? false,
    close: () =>
      (closing ??= (async () => {
        await runner?.close();
        await options.admin.deleteGroups([options.groupId]).catch((error: unknown) => {
          // Nothing to delete when the consumer never joined.
          if (JSON.stringify(error).includes('GROUP_ID_NOT_FOUND')) return;
          logger.warn(
            { err: toError(error), groupId: options.groupId },
            'could not delete the table consumer group',
          );
        });
      })()),
  };
}
