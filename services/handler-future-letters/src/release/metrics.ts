import type { FutureLetterRepository } from '@openpenpal/domain';
import type { Clock } from '@openpenpal/timing';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ReleaseMetrics {
  unlocked: Counter;
}

/** The platform's names (openpenpal-domain.md §7): its dashboard and alerts read them unchanged. */
export function createReleaseMetrics(
  registry: Registry,
  repository: FutureLetterRepository,
  clock: Pick<Clock, 'now'>,
): ReleaseMetrics {
  new Gauge({
    name: 'scheduler_future_letters_pending',
    help: 'Future letters whose release time has come and that are not released yet (the backlog), read at scrape time.',
    registers: [registry],
    async collect() {
      this.set(await repository.countDue(new Date(clock.now())));
    },
  });
  return {
    unlocked: new Counter({
      name: 'scheduler_future_letters_unlocked_total',
      help: 'Future letters released (scheduled → published) by this process.',
      registers: [registry],
    }),
  };
}
