import { errorCodeOf, toError, type ErrorCode } from '@openpenpal/errors';
import { equalJitterDelay } from '@openpenpal/timing';
import type { Logger } from 'pino';
import type { Clock } from './store/index.ts';

export type TargetState =
  | { usable: true }
  | {
      usable: false;
      /** When to try the target again (epoch ms). */
      retryAt: number;
      /** UNKNOWN_TOPIC (the topic does not exist) or the code of its last failed publish. */
      code: ErrorCode;
      reason: string;
    };

/**
 * Which target topics the dispatcher may publish to now. A topic that does not exist (kafkajs would
 * retry its metadata for half a minute per send, stalling every other target) or whose last
 * publishes failed is held back on its own, with a growing backoff, while every other target
 * flows. The topic list is read from the cluster at most once per `refreshMs`, and again when a
 * topic is not on it (a topic created after the message was scheduled).
 */
export interface TargetGate {
  states(topics: readonly string[]): Promise<Map<string, TargetState>>;
  failed(topic: string, error: unknown): void;
  succeeded(topic: string): void;
}

export function createTargetGate(options: {
  listTopics: () => Promise<string[]>;
  clock: Clock;
  logger: Logger;
  refreshMs: number;
  backoffMaxMs: number;
}): TargetGate {
  const { clock, logger } = options;
  let known = new Set<string>();
  let refreshedAt = Number.NEGATIVE_INFINITY;
  const failing = new Map<string, { failures: number; retryAt: number; code: ErrorCode; reason: string }>();

  // One listing at a time: a caller that asks while one is read waits for it, instead of being
  // answered from the old list (the shards' loops ask together after a start).
  let listing: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    if (listing) return listing;
    const now = clock.now();
    if (now - refreshedAt < options.refreshMs) return Promise.resolve();
    refreshedAt = now;
    listing = (async () => {
      try {
        known = new Set(await options.listTopics());
      } catch (error) {
        // Keep the last list; sends to listed topics will tell whether Kafka is there.
        logger.warn({ err: toError(error) }, 'could not list the target topics');
      }
    })().finally(() => {
      listing = undefined;
    });
    return listing;
  };

  return {
    states: async (topics) => {
      if (topics.some((topic) => !known.has(topic))) await refresh();
      const now = clock.now();
      const states = new Map<string, TargetState>();
      for (const topic of topics) {
        const failure = failing.get(topic);
        if (!known.has(topic)) {
          states.set(topic, {
            usable: false,
            retryAt: refreshedAt + options.refreshMs,
            code: 'UNKNOWN_TOPIC',
            reason: `target topic ${topic} does not exist`,
          });
        } else if (failure && failure.retryAt > now) {
          states.set(topic, {
            usable: false,
            retryAt: failure.retryAt,
            code: failure.code,
            reason: failure.reason,
          });
        } else {
          states.set(topic, { usable: true });
        }
      }
      return states;
    },
    failed: (topic, error) => {
      const failures = (failing.get(topic)?.failures ?? 0) + 1;
      const retryAt =
        clock.now() + equalJitterDelay({ initialDelayMs: 500, maxDelayMs: options.backoffMaxMs }, failures);
      const reason = `publishing to ${topic} failed: ${toError(error).message}`;
      failing.set(topic, { failures, retryAt, code: errorCodeOf(error), reason });
      // A topic deleted since the last listing shows up as a failed send: list again soon.
      refreshedAt = Number.NEGATIVE_INFINITY;
      logger.warn({ topic, failures, retryAt: new Date(retryAt).toISOString() }, 'target backing off');
    },
    succeeded: (topic) => {
      if (failing.delete(topic)) logger.info({ topic }, 'target taking messages again');
    },
  };
}
