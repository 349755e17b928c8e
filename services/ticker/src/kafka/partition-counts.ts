import { toError } from '@openpenpal/errors';
import type { Logger } from 'pino';

/** What the partition counts read (kafkajs's admin client). */
interface TopicMetadataSource {
  fetchTopicMetadata(options: {
    topics: string[];
  }): Promise<{ topics: { name: string; partitions: readonly unknown[] }[] }>;
}

/** How many partitions each trigger topic has, as last read; undefined before the first read. */
export interface PartitionCounts {
  of(topic: string): number | undefined;
  /** Reads the counts now; a failed read keeps the last ones (and is logged). */
  refresh(): Promise<void>;
  close(): void;
}

export interface PartitionCountsOptions {
  admin: TopicMetadataSource;
  topics: readonly string[];
  /** Read again this often: a topic given more partitions is seen within this long. */
  refreshMs: number;
  logger: Logger;
}

/**
 * The trigger topics' partition counts, so the ticker chooses each trigger's partition while it
 * prepares an instant (`keyPartition`, the partition kafkajs would choose) instead of kafkajs
 * hashing every key after the instant. Until a count is known, or for a topic it could not read,
 * kafkajs partitions at send time. A count read before partitions were added still names valid
 * partitions; keys map as kafkajs maps them again from the next read on.
 */
export function createPartitionCounts(options: PartitionCountsOptions): PartitionCounts {
  const counts = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  const refresh = async () => {
    try {
      const metadata = await options.admin.fetchTopicMetadata({ topics: [...options.topics] });
      for (const topic of metadata.topics)
        if (topic.partitions.length > 0) counts.set(topic.name, topic.partitions.length);
    } catch (error) {
      options.logger.warn(
        { err: toError(error) },
        'could not read the trigger topics’ partition counts; kafkajs partitions at send time',
      );
    }
  };
  timer = setInterval(() => void refresh(), options.refreshMs);
  timer.unref();
  return {
    of: (topic) => counts.get(topic),
    refresh,
    close: () => {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
