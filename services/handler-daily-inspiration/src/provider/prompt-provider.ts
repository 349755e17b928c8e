import { SchedulerError } from '@openpenpal/errors';
import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  handleWhen,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import { z } from 'zod';
import type { Prompt } from '../push/prompts.ts';

export interface PromptProviderOptions {
  /** `https://api.openai.com/v1` or any OpenAI-compatible base URL (…/chat/completions is appended). */
  baseUrl: string;
  model: string;
  apiKey: string | undefined;
  timeoutMs: number;
  /** Tries per prompt, the first included. */
  maxAttempts: number;
  retryInitialDelayMs?: number;
  breakerThreshold: number;
  breakerHalfOpenAfterMs: number;
}

/** Asks the provider for one prompt in `language`; rejects on any failure or a malformed answer. */
export type PromptProvider = (
  request: { language: string; localDate: string },
  signal: AbortSignal,
) => Promise<Prompt>;

const completion = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().trim().min(1) }) })).min(1),
});

/** The platform's prompt shape (openpenpal-domain.md §4), within the columns and template limits. */
const promptShape = z.object({
  theme: z.string().trim().min(1).max(64),
  prompt: z.string().trim().min(1).max(500),
  style: z.string().trim().min(1).max(64),
  tags: z.array(z.string().trim().min(1).max(32)).min(1).max(8),
});

const failed = (message: string, cause?: unknown) =>
  new SchedulerError('PROVIDER_FAILED', message, cause === undefined ? {} : { cause });

const SYSTEM =
  'You write one daily writing prompt for the pen-pal letter platform OpenPenPal. Answer with a ' +
  'single JSON object and nothing else: {"theme": string, "prompt": string, "style": string, ' +
  '"tags": string[]}. The theme is a short title (at most 20 characters), the prompt one or two ' +
  'sentences inviting a handwritten letter, the style one word, 1 to 5 short tags.';

/** The JSON object in a completion's content (a ```json fence around it is tolerated). */
function parsePromptContent(content: string): Prompt {
  const text = content
    .trim()
    .replace(/^```(?:json)?\s*/i, '')
    .replace(/\s*```$/, '');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw failed('the chat API answered with a prompt that is not JSON', error);
  }
  const parsed = promptShape.safeParse(value);
  if (!parsed.success) {
    throw failed(`the chat API answered with a malformed prompt: ${parsed.error.issues[0]?.message ?? ''}`);
  }
  return parsed.data;
}

async function askOnce(
  options: PromptProviderOptions,
  request: { language: string; localDate: string },
  signal: AbortSignal,
): Promise<Prompt> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  let response: Response;
  try {
    response = await fetch(`${options.baseUrl.replace(/\/+$/, '')}/chat/completions`, {
      method: 'POST',
      headers,
      signal,
      body: JSON.stringify({
        model: options.model,
        max_tokens: 400,
        messages: [
          { role: 'system', content: SYSTEM },
          {
            role: 'user',
            content: `Language: ${request.language}. Date: ${request.localDate}. Write today's prompt.`,
          },
        ],
      }),
    });
  } catch (error) {
    if (signal.aborted)
      throw new SchedulerError('TIMEOUT', 'the chat API did not answer in time', { cause: error });
    throw failed(`the chat API is unreachable: ${(error as Error).message}`, error);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    if (signal.aborted)
      throw new SchedulerError('TIMEOUT', 'the chat API did not answer in time', { cause: error });
    throw failed(`the chat API answered ${response.status} with a body that is not JSON`, error);
  }
  if (!response.ok) throw failed(`the chat API answered ${response.status}`);
  const parsed = completion.safeParse(body);
  const content = parsed.success ? parsed.data.choices[0]?.message.content : undefined;
  if (content === undefined) throw failed('the chat API answered without choices[0].message.content');
  return parsePromptContent(content);
}

/**
 * The provider behind cockatiel: a per-call timeout, `maxAttempts` tries with exponential backoff,
 * and a circuit breaker (consecutive failures open it; an open circuit rejects at once).
 */
export function createPromptProvider(options: PromptProviderOptions): PromptProvider {
  const policy = wrap(
    // An open circuit is not retried: the caller falls back at once.
    retry(
      handleWhen((error) => !(error instanceof BrokenCircuitError)),
      {
        maxAttempts: options.maxAttempts - 1,
        backoff: new ExponentialBackoff({
          initialDelay: options.retryInitialDelayMs ?? 200,
          maxDelay: 2_000,
        }),
      },
    ),
    circuitBreaker(handleAll, {
      halfOpenAfter: options.breakerHalfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.breakerThreshold),
    }),
    timeout(options.timeoutMs, TimeoutStrategy.Aggressive),
  );
  return (request, signal) =>
    policy.execute(({ signal: callSignal }) => askOnce(options, request, callSignal), signal);
}
