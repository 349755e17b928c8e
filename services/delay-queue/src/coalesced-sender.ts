import type { EncodedBatch, Producer } from '@openpenpal/messaging';

type Sender = Pick<Producer, 'sendEncoded'>;

interface Waiting {
  batches: readonly EncodedBatch[];
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * One target producer shared by the dispatch loops of every shard a replica owns. With a send in
 * flight, the batches other loops hand over meanwhile wait and go out together in the next request
 * (one produce request instead of one per loop, which queued behind each other on the producer's
 * one request in flight and added a round trip per shard to the lateness); with none in flight a
 * send starts at once, so no timer adds latency. A loop awaits its own send before the next, so
 * the order of its messages holds. When a joined request fails, each caller's batches are sent
 * again on their own, so a failure (one target topic refusing) reaches only the callers it belongs
 * to, and each caller keeps its own per-topic fallback.
 */
export function createCoalescedSender(producer: Sender): Sender {
  let queue: Waiting[] = [];
  let inFlight = false;

  const alone = async (waiting: Waiting) => {
    try {
      await producer.sendEncoded(waiting.batches);
      waiting.resolve();
    } catch (error) {
      waiting.reject(error);
    }
  };

  const drain = async () => {
    inFlight = true;
    while (queue.length > 0) {
      const joined = queue;
      queue = [];
      if (joined.length === 1) {
        await alone(joined[0] as Waiting);
        continue;
      }
      try {
        await producer.sendEncoded(joined.flatMap((waiting) => waiting.batches));
        for (const waiting of joined) waiting.resolve();
      } catch {
        for (const waiting of joined) await alone(waiting);
      }
    }
    inFlight = false;
  };

  return {
    sendEncoded: (batches) =>
      new Promise<void>((resolve, reject) => {
        queue.push({ batches, resolve, reject });
        if (!inFlight) void drain();
      }).then(() => []),
  };
}
