import type { ClaimedReply, GeneratedReply } from '@openpenpal/domain';
import { SchedulerError, isSchedulerError } from '@openpenpal/errors';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import type { ChatCall } from './chat-client.ts';
import { VOICES, isPersona, type Persona } from './personas.ts';

export interface GeneratorOptions {
  /** The provider's client; undefined when no provider is configured (every reply is the template). */
  chat: ChatCall | undefined;
  /** Recorded as ai_replies.provider for a generated reply. */
  providerName: string;
  timeoutMs: number;
  /** Tries per generation, the first included. */
  maxAttempts: number;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  breakerThreshold: number;
  breakerHalfOpenAfterMs: number;
  onBreakerState?: (state: BreakerState) => void;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface Generator {
  /**
   * The reply to a claimed letter: the provider's (with per-call timeout and retries with backoff,
   * through the circuit breaker), or the persona's template marked as a fallback when the circuit is
   * open or `lastChance` is set (the execution's last attempt: better a template than no reply).
   * Otherwise a provider failure rejects with PROVIDER_FAILED (retryable at the task level).
   */
  generate(
    reply: ClaimedReply,
    options: { lastChance: boolean; signal: AbortSignal },
  ): Promise<GeneratedReply>;
  breakerState(): BreakerState;
}

/** Failures of the provider itself: they are retried and count against the circuit. */
const providerFailure = handleWhen(
  (error) =>
    error instanceof TaskCancelledError ||
    (isSchedulerError(error) && (error.code === 'PROVIDER_FAILED' || error.code === 'TIMEOUT')),
);

const STATES = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'open',
} as const;

/** The template reply of a persona, marked as such (provider `template`, fallback). */
function templateReply(persona: Persona, originalTitle: string | null): GeneratedReply {
  return {
    title: replyTitle(persona, originalTitle),
    content: VOICES[persona].template,
    provider: 'template',
    fallback: true,
  };
}

function replyTitle(persona: Persona, originalTitle: string | null): string {
  const title = originalTitle?.trim()
    ? `Re: ${originalTitle.trim()}`
    : `A letter from ${VOICES[persona].name}`;
  return title.slice(0, 255);
}

/** Retries, timeout and circuit breaker from cockatiel around one chat call per try. */
export function createGenerator(options: GeneratorOptions): Generator {
  const breaker = circuitBreaker(providerFailure, {
    halfOpenAfter: options.breakerHalfOpenAfterMs,
    breaker: new ConsecutiveBreaker(options.breakerThreshold),
  });
  breaker.onStateChange((state) => options.onBreakerState?.(STATES[state]));
  const policy = wrap(
    retry(providerFailure, {
      maxAttempts: options.maxAttempts - 1,
      backoff: new ExponentialBackoff({
        initialDelay: options.retryInitialDelayMs,
        maxDelay: options.retryMaxDelayMs,
      }),
    }),
    breaker,
    timeout(options.timeoutMs, TimeoutStrategy.Aggressive),
  );

  return {
    breakerState: () => STATES[breaker.state],
    generate: async (reply, { lastChance, signal }) => {
      if (!isPersona(reply.persona)) {
        throw new SchedulerError('NON_RETRYABLE_FAILURE', `persona ${reply.persona} is not one of the eight`);
      }
      const persona = reply.persona;
      const { chat } = options;
      if (!chat) return templateReply(persona, reply.letterTitle);
      const letter = reply.letterTitle
        ? `${reply.letterTitle}\n\n${reply.letterContent}`
        : reply.letterContent;
      try {
        const content = await policy.execute(
          ({ signal: callSignal }) => chat({ system: VOICES[persona].prompt, user: letter }, callSignal),
          signal,
        );
        return {
          title: replyTitle(persona, reply.letterTitle),
          content,
          provider: options.providerName,
          fallback: false,
        };
      } catch (error) {
        if (signal.aborted) throw error;
        if (error instanceof BrokenCircuitError || lastChance)
          return templateReply(persona, reply.letterTitle);
        if (error instanceof TaskCancelledError) {
          throw new SchedulerError('TIMEOUT', 'the chat API did not answer in time', { cause: error });
        }
        throw error;
      }
    },
  };
}
