import { TASK_TYPES, topicSpec } from '@openpenpal/contracts';
import { defineService, type TopicUse } from '@openpenpal/service-kit';
import { tickerConfigSchema, type TickerConfig } from './config.ts';
import { triggerTopicFor } from './definitions/task-spec.ts';
import { startTicker, type TickerOptions } from './ticker.ts';

/** The topics the ticker provisions (and their `.dlq` topics), under the configured names. */
function tickerTopics(config: TickerConfig): TopicUse[] {
  return [
    { spec: topicSpec('scheduler.task-definitions'), name: config.TICKER_DEFINITIONS_TOPIC },
    { spec: topicSpec('scheduler.task-commands'), name: config.TICKER_COMMANDS_TOPIC },
    { spec: topicSpec('scheduler.execution-events'), name: config.TICKER_EXECUTION_EVENTS_TOPIC },
    ...TASK_TYPES.map((taskType) => ({
      spec: topicSpec(`scheduler.trigger.${taskType.replaceAll('_', '-')}`),
      name: triggerTopicFor(config.TICKER_TRIGGER_TOPIC_PREFIX, taskType),
    })),
  ];
}

/** The ticker as a service; the options let the benchmark observe every fire. */
export function createTickerService(options: TickerOptions = {}) {
  return defineService({
    name: 'ticker',
    configSchema: tickerConfigSchema,
    topics: tickerTopics,
    start: (ctx) => startTicker(ctx, options),
  });
}

export const tickerService = createTickerService();
