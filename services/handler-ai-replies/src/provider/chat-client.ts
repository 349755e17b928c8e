import { SchedulerError } from '@openpenpal/errors';
import { z } from 'zod';

export interface ChatClientOptions {
  /** `https://api.openai.com/v1` or any OpenAI-compatible base URL (…/chat/completions is appended). */
  baseUrl: string;
  model: string;
  apiKey: string | undefined;
  maxTokens: number;
}

interface ChatRequest {
  system: string;
  user: string;
}

/** One chat completions call: resolves the reply text or rejects with PROVIDER_FAILED. */
export type ChatCall = (request: ChatRequest, signal: AbortSignal) => Promise<string>;

const completion = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().trim().min(1) }) })).min(1),
});

const failed = (message: string, cause?: unknown) =>
  new SchedulerError('PROVIDER_FAILED', message, cause === undefined ? {} : { cause });

/**
 * A client of the chat completions API (`POST {baseUrl}/chat/completions`) on Node's fetch. Any
 * failure of the provider (network, non-2xx, a body that is not a completion) is PROVIDER_FAILED;
 * the caller's signal (its timeout) aborts the request.
 */
export function createChatClient(options: ChatClientOptions): ChatCall {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  return async (request, signal) => {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        signal,
        body: JSON.stringify({
          model: options.model,
          max_tokens: options.maxTokens,
          messages: [
            { role: 'system', content: request.system },
            { role: 'user', content: request.user },
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
    // Never the body in the message: it may echo the letter.
    if (!response.ok) throw failed(`the chat API answered ${response.status}`);
    const parsed = completion.safeParse(body);
    const content = parsed.success ? parsed.data.choices[0]?.message.content : undefined;
    if (content === undefined) {
      throw failed('the chat API answered without a reply (no choices[0].message.content)');
    }
    return content;
  };
}
