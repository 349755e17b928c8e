import type { TaskDefinition } from '@openpenpal/contracts';
import { createTableReader, type TableReader, type TableReaderOptions } from '@openpenpal/messaging';
import type { DefinitionOrigin } from './task-book.ts';

/**
 * The table of task definitions, rebuilt from the compacted definitions topic (`TaskDefinition`
 * keyed by task id, a tombstone deletes) at every start and kept live afterwards. Loaded means
 * read up to the ends seen at start: before that the ticker must not lead, or it would take tasks
 * it has not seen yet for deleted. A record that cannot be decoded is counted and skipped, never
 * dead-lettered (the reader reads the table again at every start, on every replica).
 */
export function createDefinitionsTable(
  options: Omit<TableReaderOptions<'TaskDefinition'>, 'binding' | 'onRecord'> & {
    topic: string;
    onDefinition: (taskId: string, def: TaskDefinition | null, origin: DefinitionOrigin) => void;
  },
): TableReader {
  const { topic, onDefinition, ...reader } = options;
  return createTableReader({
    ...reader,
    binding: { topic, schema: 'TaskDefinition' },
    onRecord: (record) => {
      if (record.value) onDefinition(record.key ?? record.value.task_id, record.value, record);
      else if (record.key !== null) onDefinition(record.key, null, record);
    },
  });
}
