import { loadConfig, startService, type RunningService } from '@openpenpal/service-kit';
import type { Registry } from 'prom-client';
import type { RecorderConfig } from '../src/config.ts';
import { recorderService } from '../src/service.ts';
import { logger, type RecorderWorld } from './support.ts';

export type RunningRecorder = RunningService<RecorderConfig>;

/** A recorder in this process on the service runtime, on the world's topics, group and schema. */
export function startRecorder(
  world: RecorderWorld,
  env: Record<string, string> = {},
  options: { onFatal?: (error: Error) => void } = {},
): Promise<RunningRecorder> {
  return startService(recorderService, {
    config: loadConfig(recorderService.configSchema, { ...world.env, ...env }),
    logger,
    ...options,
  });
}

/** The value of one series of the registry (0 when absent), summed over the series matching `labels`. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const values = metric?.values ?? [];
  return values
    .filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected))
    .reduce((sum, value) => sum + value.value, 0);
}
