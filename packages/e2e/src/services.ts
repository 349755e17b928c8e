/** Every process of the system as `deploy/local/dev.sh up` runs it, with its ops port. */
export interface ServiceSpec {
  /** The folder under services/ (and the name service-env.sh picks the logins by). */
  name: string;
  port: number;
  /** The entry, relative to the service's folder. */
  entry: string;
  readyPath: string | null;
}

const service = (name: string, port: number): ServiceSpec => ({
  name,
  port,
  entry: 'src/main.ts',
  readyPath: '/readyz',
});

/** The fake OpenAI-compatible chat API the AI replies use (dev.sh starts it on 8191 too). */
export const FAKE_CHAT: ServiceSpec = {
  name: 'handler-ai-replies',
  port: 8_191,
  entry: 'src/bin/fake-chat-api.ts',
  readyPath: null,
};

/** The services, in the order dev.sh lists them; they start in parallel (topics exist before). */
export const SERVICES: readonly ServiceSpec[] = [
  service('api', 8_080),
  service('ticker', 8_101),
  service('delay-queue', 8_102),
  service('recorder', 8_103),
  service('notifier', 8_104),
  service('handler-future-letters', 8_110),
  service('handler-ai-replies', 8_111),
  service('handler-courier-timeouts', 8_112),
  service('handler-letter-cleanup', 8_113),
  service('handler-daily-inspiration', 8_114),
];

/** The controllable fake chat API the daily inspiration asks for prompts (scenarios switch it). */
export const INSPIRATION_PROVIDER_PORT = 8_192;

/**
 * Settings the e2e run gives the services on top of the stack's: short retry backoffs (so a failed
 * execution is retried and dead-lettered within seconds), the fakes as providers, no default quiet
 * hours for the AI replies.
 */
export function e2eServiceSettings(): Record<string, Record<string, string>> {
  const handlers = {
    HANDLER_RETRY_INITIAL_DELAY_MS: '500',
    HANDLER_RETRY_MAX_DELAY_MS: '1000',
  };
  return {
    'handler-future-letters': handlers,
    'handler-courier-timeouts': handlers,
    'handler-letter-cleanup': handlers,
    'handler-ai-replies': {
      ...handlers,
      HANDLER_AI_PENPAL_REPLY_PROVIDER_BASE_URL: `http://127.0.0.1:${FAKE_CHAT.port}/v1`,
      HANDLER_AI_PENPAL_REPLY_PROVIDER_MODEL: 'gpt-4o-mini',
      HANDLER_AI_PENPAL_REPLY_DEFAULT_QUIET_HOURS: '',
    },
    'handler-daily-inspiration': {
      ...handlers,
      HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_BASE_URL: `http://127.0.0.1:${INSPIRATION_PROVIDER_PORT}/v1`,
      HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_MAX_ATTEMPTS: '1',
      HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_TIMEOUT_MS: '10000',
      HANDLER_WRITING_INSPIRATION_PUSH_BREAKER_THRESHOLD: '1000',
    },
  };
}
