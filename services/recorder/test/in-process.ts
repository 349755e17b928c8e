import type { EventStore } from '@openpenpal/event-store';
import { createKafkaClient } from '@openpenpal/messaging';
import { Registry } from 'prom-client';
import { createRecorder, type Recorder } from '../src/recorder.ts';
import { contracts, logger, type RecorderWorld } from './support.ts';

export interface RunningRecorder {
  recorder: Recorder;
  registry: Registry;
  close(): Promise<void>;
}

/** A recorder in this process, on the world's topics, group and schema. */
export async function startRecorder(
  world: RecorderWorld,
  overrides: Partial<RecorderWorld['config']> = {},
  store: EventStore = world.store,
): Promise<RunningRecorder> {
  const kafka = createKafkaClient({ brokers: world.config.KAFKA_BROKERS, clientId: 'recorder-test', logger });
  const admin = kafka.admin();
  await admin.connect();
  const registry = new Registry();
  const recorder = createRecorder({
    config: { ...world.config, ...overrides },
    pool: world.pg.pool,
    store,
    kafka,
    admin,
    producer: world.producer,
    contracts,
    registry,
    logger,
  });
  await recorder.start();
  let closing: Promise<void> | undefined;
  return {
    recorder,
    registry,
    close: () =>
      (closing ??= (async () => {
        await recorder.close();
        await admin.disconnect();
      })()),
  };
}

/** The value of one series of the registry (0 when absent). */
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
