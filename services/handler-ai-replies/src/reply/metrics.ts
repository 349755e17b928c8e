import type { AiReplyRepository } from '@openpenpal/domain';
import type { Clock } from '@openpenpal/timing';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BreakerState } from '../provider/generator.ts';

export interface ReplyMetrics {
  sent: Counter<'provider'>;
  providerFailures: Counter;
  breaker(state: BreakerState): void;
}

const BREAKER_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

export function createReplyMetrics(
  registry: Registry,
  repository: AiReplyRepository,
  clock: Pick<Clock, 'now'>,
): ReplyMetrics {
  // The platform's name (openpenpal-domain.md §7): its dashboard and alerts read it unchanged.
  new Gauge({
    name: 'scheduler_ai_replies_pending',
    help: 'AI replies whose time has come and that are not sent yet (scheduled or generating), read at scrape time.',
    registers: [registry],
    async collect() {
      this.set(await repository.countDue(new Date(clock.now())));
    },
  });
  const breaker = new Gauge({
    name: 'scheduler_ai_provider_circuit_state',
    help: 'The AI provider circuit breaker of this process: 0 closed, 1 half open, 2 open (template replies).',
    registers: [registry],
  });
  breaker.set(0);
  return {
    sent: new Counter({
      name: 'scheduler_ai_replies_sent_total',
      help: 'AI replies written and marked sent by this process, by who wrote them (generated or template).',
      labelNames: ['provider'],
      registers: [registry],
    }),
    providerFailures: new Counter({
      name: 'scheduler_ai_provider_failures_total',
      help: 'Generations whose provider calls all failed while the circuit was closed (the reply is retried).',
      registers: [registry],
    }),
    breaker: (state) => breaker.set(BREAKER_VALUE[state]),
  };
}
