import { SchedulerError, isSchedulerError, toError } from '@openpenpal/errors';
import { sendToDeadLetterTopic, type Producer, type UndecodableRecord } from '@openpenpal/messaging';
import type { Clock } from '@openpenpal/timing';
import type { Logger } from 'pino';
import type { Leadership } from '../lease/lease.ts';
import { isFencedOut, type TickerStore } from '../store/store.ts';
import type { DefinitionOrigin, TaskBook } from './task-book.ts';

export interface DefinitionDeadLetters {
  /** Starts dead-lettering under this term (the leader only). */
  lead(term: Leadership): void;
  stepDown(): Promise<void>;
  /** An invalid definition arrived: look again. */
  wake(): void;
  /** A record of the table that cannot be decoded: dead-lettered once, like an invalid definition. */
  undecodable(record: UndecodableRecord): void;
  /** Invalid definitions this leader has not yet dead-lettered or found dead-lettered (0 on a standby). */
  pending(): number;
  close(): Promise<void>;
}

const recordId = (origin: Pick<DefinitionOrigin, 'partition' | 'offset'>) =>
  `${origin.partition}:${origin.offset}`;

/**
 * Undecodable records have no task id to file them under: each is kept under a name no task id can
 * take (task ids start with a letter or digit), next to the invalid definitions' task ids.
 */
const UNDECODABLE = '#undecodable:';
const undecodableName = (record: Pick<UndecodableRecord, 'partition' | 'offset'>) =>
  `${UNDECODABLE}${recordId(record)}`;

/** The reader's decoding error as the dead letter's reason (DECODE_FAILED unless it has a code). */
function decodeError(error: Error): SchedulerError {
  if (isSchedulerError(error)) return error;
  return new SchedulerError('DECODE_FAILED', `task definition record cannot be decoded: ${error.message}`, {
    cause: error,
  });
}

/**
 * Dead-letters each invalid definition once, with VALIDATION_FAILED and the fields in the
 * `dlq.*` headers: every replica reads the whole table at every start, so dead-lettering where a
 * record is read would write it once per start and per replica. The leader alone writes them and
 * records each record's `<partition>:<offset>` in Redis (fenced, like all its state), so a restart
 * or the next leader knows it was written; a crash between the two writes it again (at least
 * once, as every dead letter). A later valid definition or a delete forgets the task.
 */
export function createDefinitionDeadLetters(deps: {
  book: TaskBook;
  store: TickerStore;
  /** The producer dead letters are sent with. */
  producer: Producer;
  /** Named in the `dlq.consumer.group` header. */
  groupId: string;
  clock: Clock;
  logger: Logger;
  retryBackoffMs: number;
  onDeadLettered?: () => void;
}): DefinitionDeadLetters {
  const { book, store, clock } = deps;
  const logger = deps.logger.child({ component: 'definition-dead-letters' });
  /** task_id (or undecodable record name) → the record known to be dead-lettered, in this term. */
  const known = new Map<string, string>();
  /** The undecodable records of the table as read by this process, by name. */
  const undecodable = new Map<string, UndecodableRecord>();
  let current:
    { term: Leadership; stop: AbortController; wake: AbortController; loop: Promise<void> } | undefined;

  const pass = async (term: Leadership) => {
    const stored = await store.deadLetteredDefinitions();
    const forget: string[] = [];
    for (const [taskId, id] of stored) {
      if (taskId.startsWith(UNDECODABLE)) {
        if (undecodable.has(taskId)) known.set(taskId, id);
        else forget.push(taskId);
        continue;
      }
      const origin = book.get(taskId)?.invalid?.origin;
      if (origin && recordId(origin) === id) known.set(taskId, id);
      else if (!book.get(taskId)?.invalid) forget.push(taskId);
    }
    const dead: [string, string][] = [];
    for (const [taskId, entry] of book.invalid()) {
      const origin = entry.invalid?.origin;
      if (!origin || !entry.invalid || known.get(taskId) === recordId(origin)) continue;
      const topic = await sendToDeadLetterTopic(
        deps.producer,
        {
          topic: origin.topic,
          partition: origin.partition,
          message: origin.message,
          groupId: deps.groupId,
          error: entry.invalid.error,
          attempts: 1,
        },
        clock.now(),
      );
      dead.push([taskId, recordId(origin)]);
      deps.onDeadLettered?.();
      logger.warn(
        { taskId, offset: origin.offset, partition: origin.partition, dlq: topic, err: entry.invalid.error },
        'invalid task definition dead-lettered',
      );
    }
    for (const [name, record] of undecodable) {
      if (known.get(name) === recordId(record)) continue;
      const error = decodeError(record.error);
      const topic = await sendToDeadLetterTopic(
        deps.producer,
        {
          topic: record.topic,
          partition: record.partition,
          message: record.message,
          groupId: deps.groupId,
          error,
          attempts: 1,
        },
        clock.now(),
      );
      dead.push([name, recordId(record)]);
      deps.onDeadLettered?.();
      logger.warn(
        { key: record.key, offset: record.offset, partition: record.partition, dlq: topic, err: error },
        'undecodable task definition record dead-lettered',
      );
    }
    if (dead.length === 0 && forget.length === 0) return;
    await store.recordDeadLetteredDefinitions(term.value, dead, forget);
    for (const [taskId, id] of dead) known.set(taskId, id);
    for (const taskId of forget) known.delete(taskId);
  };

  const run = async (self: NonNullable<typeof current>) => {
    while (!self.stop.signal.aborted) {
      self.wake = new AbortController();
      try {
        await pass(self.term);
      } catch (error) {
        if (isFencedOut(error)) return;
        logger.warn({ err: toError(error) }, 'dead-lettering invalid definitions failed; retrying');
        await clock.sleepUntil(clock.now() + deps.retryBackoffMs, self.stop.signal);
        continue;
      }
      await clock.sleepUntil(Number.POSITIVE_INFINITY, AbortSignal.any([self.wake.signal, self.stop.signal]));
    }
  };

  const stepDown = async () => {
    const self = current;
    current = undefined;
    known.clear();
    if (!self) return;
    self.stop.abort();
    await self.loop;
  };

  return {
    lead: (term) => {
      void stepDown();
      const self = {
        term,
        stop: new AbortController(),
        wake: new AbortController(),
        loop: Promise.resolve(),
      };
      current = self;
      self.loop = run(self);
    },
    stepDown,
    wake: () => current?.wake.abort(),
    undecodable: (record) => {
      undecodable.set(undecodableName(record), record);
      current?.wake.abort();
    },
    pending: () => {
      if (!current) return 0;
      let count = 0;
      for (const [taskId, entry] of book.invalid()) {
        const origin = entry.invalid?.origin;
        if (origin && known.get(taskId) !== recordId(origin)) count += 1;
      }
      for (const [name, record] of undecodable) if (known.get(name) !== recordId(record)) count += 1;
      return count;
    },
    close: stepDown,
  };
}
