import type { TaskDefinition } from '@openpenpal/contracts';
import { createTableReader, type TableReader, type TableReaderOptions } from '@openpenpal/messaging';

/**
 * The table of task definitions, rebuilt from the compacted definitions topic (`TaskDefinition`
 * keyed by task id, a tombstone deletes) at every start and kept live afterwards. Loaded means
 * read up to the ends seen at start: before that the ticker must not lead, or it would take tasks
 * it has not seen yet for deleted.
 */
export function createDefinitionsTable(
  options: Pick<TableReaderOptions<'TaskDefinition'>, 'admin' | 'logger' | 'groupId' | 'consumer'> & {
    topic: string;
    onDefinition(taskId: string, def: TaskDefinition | null): void;
  },
): TableReader {
  return createTableReader({
    admin: options.admin,
    logger: options.logger,
    binding: { topic: options.topic, schema: 'TaskDefinition' },
    groupId: options.groupId,
    consumer: options.consumer,
    onRecord: ({ key, value }) => {
      if (value) options.onDefinition(key ?? value.task_id, value);
      else if (key !== null) options.onDefinition(key, null);
    },
  });
}
