import type { Contracts } from '@openpenpal/contracts';
import type { DelayClient } from '@openpenpal/delay-client';
import type { EventStore } from '@openpenpal/event-store';
import type { Producer } from '@openpenpal/messaging';
import type { TaskDefinitions } from '@openpenpal/task-definitions';
import type { Redis } from 'ioredis';
import type { ApiConfig } from './config.ts';
import type { ApiMetrics } from './metrics.ts';
import type { DelayedReads } from './read/delayed.ts';
import type { ExecutionReads } from './read/executions.ts';
import type { TickerReads } from './read/scheduler.ts';
import type { TaskReads } from './read/tasks.ts';

/** What the routes use, built by the service (service.ts) from the runtime's clients. */
export interface ApiDeps {
  config: ApiConfig;
  instanceId: string;
  clock: { now(): number };
  contracts: Contracts;
  store: EventStore;
  definitions: TaskDefinitions;
  tasks: TaskReads;
  executions: ExecutionReads;
  delayed: DelayedReads;
  ticker: TickerReads;
  producer: Producer;
  delayClient: DelayClient;
  /** The API's own Redis connection (replay protection of signed events). */
  redis: Redis;
  metrics: ApiMetrics;
}
