import { toError } from '@openpenpal/errors';
import type { Clock } from '@openpenpal/timing';
import type { Logger } from 'pino';

/** The store the lease lives in (Redis in production: lease-redis.ts). */
export interface LeaseBackend {
  /**
   * Takes the lease when it is free or, with `takeOverFrom`, when an earlier process of that
   * instance (owner `<takeOverFrom>/<hex>`) holds it; `replaced` is the lease value taken over.
   */
  acquire(
    owner: string,
    ttlMs: number,
    takeOverFrom?: string,
  ): Promise<
    | {
        acquired: true;
        token: number;
        replaced?: string | undefined;
        /**
         * With tokens from outside Redis: the Redis counter, when it was more than one below the
         * token — Redis lost acquisitions (a failover to a replica that missed them), or a racing
         * acquisition took a token and lost.
         */
        counterBehind?: number | undefined;
      }
    | { acquired: false; holder: string; remainingMs: number }
  >;
  /** True when the caller still held the lease and it was extended. */
  renew(value: string, ttlMs: number): Promise<boolean>;
  release(value: string): Promise<boolean>;
}

/** One term of leadership. */
export interface Leadership {
  /** The fencing token: grows with every acquisition, across all replicas. */
  token: number;
  /** The lease value `<owner>:<token>`; fenced Redis scripts compare it. */
  value: string;
}

export interface LockObserver {
  acquired(): void;
  /** An acquisition that did not win the lease, or a Redis error while acquiring or renewing. */
  failed(): void;
  /** Leadership ended without a release: renewal refused, or not renewed in time. */
  timedOut(): void;
  active(held: boolean): void;
}

export interface LeaderLease {
  start(): void;
  /** The current term while it is valid (renewed recently enough), else undefined. */
  current(): Leadership | undefined;
  onChange(listener: (term: Leadership | undefined) => void): void;
  /** Stops competing and releases a held lease; safe to call twice. */
  close(): Promise<void>;
}

export interface LeaderLeaseOptions {
  backend: LeaseBackend;
  /** `<instance id>/<random>`: unique to this process. */
  owner: string;
  /**
   * This process's instance id. Its first answered acquisition takes over a lease still held by an
   * earlier process of the same instance (`<instance id>/<other random>`): instance ids are unique
   * among running replicas, so that process is gone — killed, its lease not yet expired — and a
   * restart need not wait out its TTL. The fencing token still grows, so should it be alive after
   * all, its renewal is refused and its Redis writes are fenced out. Later attempts never take over.
   */
  takeOverFrom?: string;
  ttlMs: number;
  renewEveryMs: number;
  /**
   * Validity ends this long before the lease could expire in Redis, measured from the moment the
   * last successful renewal was sent: room for timer drift and for a send already under way.
   */
  safetyMarginMs: number;
  /** Longest wait between acquisition attempts while another replica leads. */
  retryEveryMs?: number;
  clock: Clock;
  logger: Logger;
  observer?: LockObserver;
}

/**
 * A leader lease with a fencing token. The holder renews every `renewEveryMs`; it regards itself
 * as leader only until `lastRenewalSentAt + ttl - safetyMargin`, so when renewals stop succeeding
 * it steps down before its key can expire and a standby can take over. Standbys retry as the
 * holder's TTL runs out, so a dead leader is replaced within one TTL.
 */
export function createLeaderLease(options: LeaderLeaseOptions): LeaderLease {
  const { backend, owner, ttlMs, renewEveryMs, safetyMarginMs, clock } = options;
  const logger = options.logger.child({ component: 'lease' });
  const retryEveryMs = options.retryEveryMs ?? renewEveryMs;
  const listeners: ((term: Leadership | undefined) => void)[] = [];
  const stop = new AbortController();
  let held: (Leadership & { validUntil: number }) | undefined;
  let takeOverFrom = options.takeOverFrom;
  let loop: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  const notify = (term: Leadership | undefined) => {
    for (const listener of listeners) listener(term);
  };

  const lose = (reason: string) => {
    if (!held) return;
    const { value, token } = held;
    held = undefined;
    options.observer?.timedOut();
    options.observer?.active(false);
    logger.warn({ token, reason }, 'leadership lost');
    notify(undefined);
    // The key may still be ours (a slow Redis): give it up so a standby need not wait for the TTL.
    backend.release(value).catch(() => undefined);
  };

  /** Resolves with the operation's result, or undefined once `deadline` passes first. */
  const until = async <T>(operation: Promise<T>, deadline: number): Promise<T | undefined> => {
    const timeout = new AbortController();
    try {
      return await Promise.race([
        operation,
        clock.sleepUntil(deadline, timeout.signal).then(() => undefined),
      ]);
    } finally {
      timeout.abort();
    }
  };

  const tryAcquire = async (): Promise<number> => {
    const sentAt = clock.now();
    try {
      const result = await until(backend.acquire(owner, ttlMs, takeOverFrom), sentAt + renewEveryMs);
      if (result === undefined) throw new Error('lease acquisition timed out');
      takeOverFrom = undefined;
      if (result.acquired && result.counterBehind !== undefined) {
        logger.warn(
          { token: result.token, counter: result.counterBehind },
          'the Redis fencing-token counter was behind: Redis lost acquisitions (a failover?) or a racing acquisition took a token',
        );
      }
      if (result.acquired && result.replaced !== undefined) {
        logger.warn(
          { replaced: result.replaced },
          'took over the lease of an earlier process of this instance',
        );
      }
      if (result.acquired) {
        held = {
          token: result.token,
          value: `${owner}:${result.token}`,
          validUntil: sentAt + ttlMs - safetyMarginMs,
        };
        options.observer?.acquired();
        options.observer?.active(true);
        logger.info({ token: result.token }, 'leadership acquired');
        notify({ token: held.token, value: held.value });
        return clock.now() + renewEveryMs;
      }
      options.observer?.failed();
      // Try again just after the holder's lease would run out, unless it renews meanwhile.
      const wait = result.remainingMs > 0 ? Math.min(result.remainingMs + 5, retryEveryMs) : 50;
      return clock.now() + wait;
    } catch (error) {
      options.observer?.failed();
      logger.warn({ err: toError(error) }, 'lease acquisition failed');
      return clock.now() + Math.min(retryEveryMs, 1_000);
    }
  };

  const tryRenew = async (term: Leadership & { validUntil: number }): Promise<number> => {
    const sentAt = clock.now();
    if (sentAt >= term.validUntil) {
      lose('not renewed within the lease ttl minus the safety margin');
      return sentAt;
    }
    try {
      const renewed = await until(backend.renew(term.value, ttlMs), term.validUntil);
      if (held !== term) return clock.now();
      if (renewed === undefined) {
        lose('renewal did not answer before the validity ended');
        return clock.now();
      }
      if (!renewed) {
        lose('renewal refused: another replica holds the lease');
        return clock.now();
      }
      term.validUntil = sentAt + ttlMs - safetyMarginMs;
      return sentAt + renewEveryMs;
    } catch (error) {
      options.observer?.failed();
      logger.warn({ err: toError(error), token: term.token }, 'lease renewal failed; retrying');
      // Retry soon, but never sleep past the end of validity without noticing it.
      return Math.min(clock.now() + Math.max(50, Math.floor(renewEveryMs / 4)), term.validUntil);
    }
  };

  // A function, not a property read: TypeScript would keep a narrowed `aborted` across awaits.
  const stopped = () => stop.signal.aborted;

  const run = async () => {
    while (!stopped()) {
      const term = held;
      const nextAt = term ? await tryRenew(term) : await tryAcquire();
      if (stopped()) break;
      const current = held;
      // A leader also wakes when its validity ends, so it steps down on time even if the
      // scheduled renewal is late.
      await clock.sleepUntil(current ? Math.min(nextAt, current.validUntil) : nextAt, stop.signal);
    }
  };

  return {
    start: () => {
      loop ??= run();
    },
    current: () => {
      if (!held) return undefined;
      if (clock.now() >= held.validUntil) {
        lose('validity ended');
        return undefined;
      }
      return { token: held.token, value: held.value };
    },
    onChange: (listener) => {
      listeners.push(listener);
    },
    close: () =>
      (closing ??= (async () => {
        stop.abort();
        await loop;
        const term = held;
        if (!term) return;
        held = undefined;
        options.observer?.active(false);
        notify(undefined);
        await backend.release(term.value).catch((error: unknown) => {
          logger.warn({ err: toError(error) }, 'lease release failed; it expires by itself');
        });
        logger.info({ token: term.token }, 'leadership released');
      })()),
  };
}
