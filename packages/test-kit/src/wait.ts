/**
 * Polls `check` until it holds, failing after `timeoutMs` with what was awaited (and, when the
 * check returns a description of the state, that too). For outcomes of asynchronous work the
 * test cannot await directly: messages arriving, a consumer catching up. Never a fixed sleep.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; what: string; intervalMs?: number; describe?: () => unknown },
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) {
      const state = options.describe ? `; last state: ${JSON.stringify(options.describe())}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what}${state}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
}
