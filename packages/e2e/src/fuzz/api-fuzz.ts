import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiCase } from './api-cases.ts';

interface ApiFinding {
  case: string;
  status: number;
  problem: string;
  body: string;
}

export interface ApiFuzzReport {
  cases: number;
  /** Answers by status code. */
  statuses: Record<string, number>;
  findings: ApiFinding[];
}

/** Most attempts of one case while the API answers 429. */
const MAX_RATE_LIMITED = 20;

async function answer(baseUrl: string, item: ApiCase): Promise<{ status: number; text: string }> {
  try {
    return await send(baseUrl, item);
  } catch (error) {
    return { status: 0, text: `no answer: ${(error as Error).message}` };
  }
}

async function send(baseUrl: string, item: ApiCase): Promise<{ status: number; text: string }> {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(`${baseUrl}${item.path}`, {
      method: item.method,
      headers: item.headers,
      ...(item.body === undefined ? {} : { body: item.body }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (response.status !== 429 || attempt >= MAX_RATE_LIMITED) return { status: response.status, text };
    const wait = Number(response.headers.get('retry-after') ?? '1');
    await sleep(Math.min(Math.max(wait, 0.2), 10) * 1_000);
  }
}

/** What is wrong with an answer to `item`, or undefined when it keeps the contract. */
function judge(item: ApiCase, status: number, text: string): string | undefined {
  if (status >= 500) return `server error ${status}`;
  if (item.expect === 'unknown' && status < 400) return undefined;
  if (status < 400) return `accepted (${status}) a request that should fail`;
  let body: { code?: unknown; error?: unknown; details?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return 'the error answer is not JSON';
  }
  if (typeof body?.code !== 'string' || typeof body.error !== 'string') {
    return 'the error answer lacks `code` or `error` (docs/api.md)';
  }
  switch (item.expect) {
    case 'unauthenticated':
      return status === 401 ? undefined : `expected 401, got ${status}`;
    case 'forbidden':
      return status === 403 ? undefined : `expected 403, got ${status}`;
    case 'unknown-404':
      return status === 404 ? undefined : `expected 404 for an unknown id, got ${status}`;
    case 'unknown':
    case 'invalid':
      if (status === 401 || status === 403) return `an admin was refused (${status})`;
      if (item.field !== undefined && status === 400 && !text.includes(item.field)) {
        return `the 400 does not name the field ${item.field}`;
      }
      return undefined;
  }
}

/**
 * Sends every case (a few at a time, waiting out 429s) and judges each answer. Findings are the
 * answers that break the contract: a 5xx, a 2xx for a bad request, an error without code/field.
 */
export async function runApiFuzz(
  baseUrl: string,
  cases: readonly ApiCase[],
  concurrency = 4,
): Promise<ApiFuzzReport> {
  const statuses: Record<string, number> = {};
  const findings: ApiFinding[] = [];
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const item = cases[next++];
      if (!item) return;
      const { status, text } = await answer(baseUrl, item);
      statuses[status] = (statuses[status] ?? 0) + 1;
      const problem = status === 0 ? text : judge(item, status, text);
      if (problem !== undefined)
        findings.push({ case: item.name, status, problem, body: text.slice(0, 300) });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { cases: cases.length, statuses, findings };
}
