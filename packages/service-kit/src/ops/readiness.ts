import type { Admin } from 'kafkajs';

export interface ReadinessCheck {
  name: string;
  /** Resolves true when the dependency is usable; false or a rejection means not ready. */
  check(): Promise<boolean> | boolean;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Why it is not ready (a timeout, the error's message). */
  reason?: string;
}

/**
 * A check that answers within `timeoutMs` (a hung dependency reads as not ready, never as a hung
 * probe) and reuses its answer for `cacheMs`, so frequent probes from several supervisors cost
 * one round trip per interval. Concurrent probes share one run.
 */
export function cachedCheck(
  check: ReadinessCheck,
  options: { timeoutMs?: number; cacheMs?: number; now?: () => number } = {},
): { name: string; run(): Promise<CheckResult> } {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const cacheMs = options.cacheMs ?? 1_000;
  const now = options.now ?? Date.now;
  let last: { at: number; result: CheckResult } | undefined;
  let running: Promise<CheckResult> | undefined;
  const runOnce = async (): Promise<CheckResult> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ name: check.name, ok: false, reason: `no answer within ${timeoutMs} ms` }),
        timeoutMs,
      );
    });
    const attempt = (async (): Promise<CheckResult> => {
      try {
        const ok = await check.check();
        return ok ? { name: check.name, ok } : { name: check.name, ok, reason: 'not ready' };
      } catch (error) {
        return {
          name: check.name,
          ok: false,
          reason: error instanceof Error ? error.message : String(error),
        };
      }
    })();
    try {
      return await Promise.race([attempt, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    name: check.name,
    run: () => {
      if (last && now() - last.at < cacheMs) return Promise.resolve(last.result);
      running ??= runOnce().then((result) => {
        last = { at: now(), result };
        running = undefined;
        return result;
      });
      return running;
    },
  };
}

/** Kafka is reachable: the cluster answers a metadata request with at least one broker. */
export function kafkaCheck(admin: Admin): ReadinessCheck {
  return {
    name: 'kafka',
    check: async () => (await admin.describeCluster()).brokers.length > 0,
  };
}
