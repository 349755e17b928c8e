import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Kafka, Producer } from 'kafkajs';
import { latenessStats, processCpuMs, round } from './common.ts';

/** Busy and total jiffies of the whole machine (/proc/stat's first line). */
function hostTicks(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  // idle and iowait are the 4th and 5th.
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
}

interface Sample {
  at: number;
  redisPingMs: number;
  kafkaAckMs: number;
  serviceCpu: number;
  hostBusy: number;
}

export interface SignalRow {
  fromS: number;
  /** Round trip of a PING on a connection of its own, p99 / max in the window, ms. */
  redisPingP99Ms: number;
  redisPingMaxMs: number;
  /** A one-message acks=all produce on a producer of its own, p99 / max in the window, ms. */
  kafkaAckP99Ms: number;
  kafkaAckMaxMs: number;
  /** CPU cores the service process used (mean over the window). */
  serviceCores: number;
  /** Share of both cores busy, whole machine (mean over the window). */
  hostBusy: number;
}

/**
 * Samples, every `everyMs`, the three candidate limits of the dispatcher's tail — Redis's
 * latency, Kafka's acknowledgement and CPU (the service's and the whole machine's) — so the
 * benchmark's timeline can put them next to the lateness of the same seconds.
 */
export async function watchSignals(options: {
  /** A connection of its own (a PING queued behind the benchmark's commands would measure them); stop() closes it. */
  redis: Redis;
  kafka: Kafka;
  topic: string;
  pid: number;
  start: number;
  everyMs?: number;
  widthMs?: number;
}) {
  const everyMs = options.everyMs ?? 200;
  const widthMs = options.widthMs ?? 5_000;
  const producer: Producer = options.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const samples: Sample[] = [];
  let stopped = false;
  const loop = async (): Promise<void> => {
    let cpu = processCpuMs(options.pid);
    let host = hostTicks();
    let last = Date.now();
    while (!stopped) {
      await sleep(everyMs);
      const pingStart = performance.now();
      await options.redis.ping().catch(() => undefined);
      const redisPingMs = performance.now() - pingStart;
      const ackStart = performance.now();
      await producer
        .send({ topic: options.topic, acks: -1, messages: [{ value: 'probe' }] })
        .catch(() => undefined);
      const kafkaAckMs = performance.now() - ackStart;
      const now = Date.now();
      let cpuNow = cpu;
      try {
        cpuNow = processCpuMs(options.pid);
      } catch {
        // The service has exited.
      }
      const hostNow = hostTicks();
      samples.push({
        at: now,
        redisPingMs,
        kafkaAckMs,
        serviceCpu: (cpuNow - cpu) / Math.max(1, now - last),
        hostBusy: (hostNow.busy - host.busy) / Math.max(1, hostNow.total - host.total),
      });
      cpu = cpuNow;
      host = hostNow;
      last = now;
    }
  };
  const running = loop();
  return {
    stop: async (): Promise<SignalRow[]> => {
      stopped = true;
      await running;
      await producer.disconnect();
      options.redis.disconnect();
      const buckets = new Map<number, Sample[]>();
      for (const sample of samples) {
        const bucket = Math.floor((sample.at - options.start) / widthMs);
        const list = buckets.get(bucket);
        if (list) list.push(sample);
        else buckets.set(bucket, [sample]);
      }
      const mean = (values: number[]) =>
        values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
      return [...buckets]
        .sort((a, b) => a[0] - b[0])
        .map(([bucket, list]) => {
          const ping = latenessStats(list.map((s) => s.redisPingMs));
          const ack = latenessStats(list.map((s) => s.kafkaAckMs));
          return {
            fromS: (bucket * widthMs) / 1000,
            redisPingP99Ms: round(ping.p99),
            redisPingMaxMs: round(ping.max),
            kafkaAckP99Ms: round(ack.p99),
            kafkaAckMaxMs: round(ack.max),
            serviceCores: round(mean(list.map((s) => s.serviceCpu)), 2),
            hostBusy: round(mean(list.map((s) => s.hostBusy)), 2),
          };
        });
    },
  };
}
