// Per-message costs from the capacity benchmark's snapshots (see capacity.bench.ts for the phases).
import { redisDelta, type RedisSnapshot } from './probes.ts';
import type { MessageCosts } from './model.ts';
import type { TopicMeter } from './topic-meter.ts';

export interface Snapshot {
  at: number;
  delayQueueCpuUs: number;
  recorderCpuUs: number;
  redis: RedisSnapshot;
  /** Tables and indexes of the recorder's schema. */
  pgBytes: number;
  storedEvents: number;
  /** Log segment bytes per topic label (one replica). */
  logBytes: Record<string, number>;
}

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

export function costsOf(
  run: {
    idleStart: Snapshot;
    s0: Snapshot;
    s1: Snapshot;
    s2: Snapshot;
    s3: Snapshot;
    messages: number;
    topics: Record<string, string>;
  },
  meter: TopicMeter,
) {
  const { idleStart, s0, s1, s2, s3, messages: n } = run;
  const idleMs = s0.at - idleStart.at;
  // CPU a process spends per ms doing nothing (timers, polls, heartbeats), µs.
  const idle = {
    delayQueue: (s0.delayQueueCpuUs - idleStart.delayQueueCpuUs) / idleMs,
    recorder: (s0.recorderCpuUs - idleStart.recorderCpuUs) / idleMs,
  };
  const idleRedis = redisDelta(idleStart.redis, s0.redis);
  const phase = (from: Snapshot, to: Snapshot) => {
    const ms = to.at - from.at;
    const redis = redisDelta(from.redis, to.redis);
    const cpu = to.delayQueueCpuUs - from.delayQueueCpuUs;
    return {
      ms,
      delay_queue_cpu_us_per_message: round(cpu / n),
      delay_queue_cpu_us_per_message_less_idle: round((cpu - idle.delayQueue * ms) / n),
      redis: {
        // Commands a client sent plus those Lua scripts ran (Redis counts both in commandstats).
        commands_per_message: round(redis.commands / n, 3),
        script_calls_per_message: round(((redis.calls.evalsha ?? 0) + (redis.calls.eval ?? 0)) / n, 4),
        calls_per_message: Object.fromEntries(
          Object.entries(redis.calls).map(([name, calls]) => [name, round(calls / n, 4)]),
        ),
        net_input_bytes_per_message: round(redis.netInputBytes / n),
        net_output_bytes_per_message: round(redis.netOutputBytes / n),
        server_cpu_us_per_message: round(redis.cpuUs / n, 2),
      },
    };
  };
  const events = s3.storedEvents - s0.storedEvents;
  const recorderCpu = s3.recorderCpuUs - s0.recorderCpuUs;
  const recorderMs = s3.at - s0.at;
  const kafka = Object.fromEntries(
    Object.entries(run.topics)
      .filter(([, topic]) => meter.topics[topic])
      .map(([label, topic]) => {
        const count = meter.topics[topic] ?? { records: 0, bytes: 0 };
        const logBytes = (s3.logBytes[label] ?? 0) - (s0.logBytes[label] ?? 0);
        return [
          label,
          {
            records_per_message: round(count.records / n, 3),
            record_bytes: round(count.bytes / Math.max(1, count.records)),
            log_bytes_per_message: round(logBytes / n),
          },
        ];
      }),
  );
  const logPerMessage = Object.values(kafka).reduce((sum, topic) => sum + topic.log_bytes_per_message, 0);
  return {
    idle: {
      delay_queue_cpu_cores: round(idle.delayQueue / 1000, 4),
      recorder_cpu_cores: round(idle.recorder / 1000, 4),
      redis_commands_per_second: round((idleRedis.commands * 1000) / idleMs),
    },
    intake: phase(s0, s1),
    dispatch: phase(s1, s2),
    redis_memory: {
      pending_bytes_per_message: round((s1.redis.usedMemory - s0.redis.usedMemory) / n),
      // What stays after dispatch: the fired markers (kept DELAY_QUEUE_FIRED_TTL_MS, 7 days by default).
      after_dispatch_bytes_per_message: round((s2.redis.usedMemory - s0.redis.usedMemory) / n),
    },
    recorder: {
      events_per_message: round(events / n, 3),
      cpu_us_per_event: round(recorderCpu / Math.max(1, events)),
      cpu_us_per_event_less_idle: round((recorderCpu - idle.recorder * recorderMs) / Math.max(1, events)),
      postgres_bytes_per_event: round((s3.pgBytes - s0.pgBytes) / Math.max(1, events)),
    },
    kafka: {
      topics: kafka,
      delay_events: meter.events,
      log_bytes_per_message: round(logPerMessage),
      log_bytes_per_message_replication_3: round(logPerMessage * 3),
    },
  };
}

/** The model's inputs from the measured costs (idle CPU taken out). */
export function messageCosts(costs: ReturnType<typeof costsOf>): MessageCosts {
  return {
    delayQueueCpuUs:
      costs.intake.delay_queue_cpu_us_per_message_less_idle +
      costs.dispatch.delay_queue_cpu_us_per_message_less_idle,
    redisCpuUs: costs.intake.redis.server_cpu_us_per_message + costs.dispatch.redis.server_cpu_us_per_message,
    pendingBytes: costs.redis_memory.pending_bytes_per_message,
    firedBytes: costs.redis_memory.after_dispatch_bytes_per_message,
    kafkaLogBytes: costs.kafka.log_bytes_per_message,
    recorderCpuUs: costs.recorder.cpu_us_per_event_less_idle * costs.recorder.events_per_message,
    eventsPerMessage: costs.recorder.events_per_message,
    postgresBytes: costs.recorder.postgres_bytes_per_event * costs.recorder.events_per_message,
  };
}
