import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceProcess } from '@openpenpal/e2e';
import type { Admin } from 'kafkajs';
import type { ClusterStack } from './cluster.ts';
import type { FaultPhase } from './records.ts';
import type { Replicas } from './replicas.ts';

type Say = (line: string) => void;
type Started = Omit<FaultPhase, 'endAt'>;

/** SIGKILLs the broker leading partition 0 of `topic`, keeps it down `downMs`, starts it again. */
export async function killBroker(options: {
  stack: ClusterStack;
  admin: Admin;
  topic: string;
  downMs: number;
  say: Say;
}): Promise<Started> {
  const { stack, admin } = options;
  const metadata = await admin.fetchTopicMetadata({ topics: [options.topic] });
  const leaderId = metadata.topics[0]?.partitions.find((p) => p.partitionId === 0)?.leader;
  const cluster = (await admin.describeCluster()).brokers;
  const leader = cluster.find((b) => b.nodeId === leaderId);
  const node = leader ? stack.brokerNode(`${leader.host}:${leader.port}`) : 'kafka-1';
  const killAt = Date.now();
  const { pid } = await stack.kill(node);
  options.say(`kafka: SIGKILLed ${node} (pid ${pid}), the leader of ${options.topic}[0]`);
  await sleep(options.downMs);
  await stack.up();
  const restartedAt = Date.now();
  options.say(`kafka: ${node} started again and ready ${restartedAt - killAt} ms after the kill`);
  return { name: 'Kafka broker', kind: 'kafka-broker', target: node, killAt, restartedAt, notes: { pid } };
}

/**
 * SIGKILLs the Redis primary serving `key`'s slot (the ticker's lease and checkpoints), waits for
 * its replica's promotion, keeps it down `downMs`, starts it again and checks it rejoined as a replica.
 */
export async function killRedisPrimary(options: {
  stack: ClusterStack;
  key: string;
  otherKeys: readonly string[];
  downMs: number;
  say: Say;
}): Promise<Started> {
  const { stack } = options;
  const before = await stack.slotOwners(options.key);
  const alsoServed: string[] = [];
  for (const key of options.otherKeys) {
    if ((await stack.slotOwners(key)).primary === before.primary) alsoServed.push(key);
  }
  const killAt = Date.now();
  const { pid } = await stack.kill(before.primary);
  options.say(
    `redis: SIGKILLed ${before.primary} (pid ${pid}), primary of ${options.key}; replicas ${before.replicas.join(', ')}`,
  );
  let promotedAt: number | null = null;
  let promoted: string | null = null;
  while (Date.now() - killAt < 30_000) {
    const now = await stack.slotOwners(options.key).catch(() => undefined);
    if (now && now.primary !== before.primary) {
      promotedAt = Date.now();
      promoted = now.primary;
      break;
    }
    await sleep(100);
  }
  options.say(
    promoted
      ? `redis: ${promoted} promoted ${(promotedAt ?? killAt) - killAt} ms after the kill`
      : 'redis: no replica was promoted within 30 s',
  );
  await sleep(Math.max(0, killAt + options.downMs - Date.now()));
  await stack.up();
  const restartedAt = Date.now();
  let role: string | null = null;
  for (let i = 0; i < 50 && role !== 'slave'; i += 1) {
    role = await stack.redisRole(before.primary);
    if (role !== 'slave') await sleep(200);
  }
  options.say(
    `redis: ${before.primary} started again ${restartedAt - killAt} ms after the kill, now ${role ?? 'not answering'}`,
  );
  return {
    name: 'Redis primary',
    kind: 'redis-primary',
    target: before.primary,
    killAt,
    restartedAt,
    notes: {
      pid,
      promoted,
      promotedAfterKillMs: promotedAt === null ? null : promotedAt - killAt,
      oldPrimaryRoleAfterRestart: role,
      alsoPrimaryOf: alsoServed,
    },
  };
}

/** The ticker instance that holds the lease now (from its metrics), or undefined. */
async function tickerLeader(instances: readonly ServiceProcess[]): Promise<ServiceProcess | undefined> {
  for (const instance of instances) {
    try {
      const text = await (
        await fetch(`${instance.url}/metrics`, { signal: AbortSignal.timeout(2_000) })
      ).text();
      if (/scheduler_distributed_locks_active\{[^}]*lock="ticker-leader"[^}]*\} 1\b/.test(text))
        return instance;
    } catch {
      // Not answering: not the leader we can see.
    }
  }
  return undefined;
}

/**
 * SIGKILLs one instance of every service at once — the ticker's leader, the first instance of the
 * others — keeps them down `downMs`, starts them again and waits until they are ready.
 */
export async function killOneOfEach(options: {
  replicas: Replicas;
  services: readonly string[];
  downMs: number;
  say: Say;
}): Promise<Started> {
  const victims: ServiceProcess[] = [];
  for (const service of options.services) {
    const instances = options.replicas.instancesOf(service);
    const victim = (service === 'ticker' ? await tickerLeader(instances) : undefined) ?? instances[0];
    if (victim) victims.push(victim);
  }
  const killAt = Date.now();
  await Promise.all(victims.map((victim) => victim.kill()));
  options.say(`services: SIGKILLed ${victims.map((v) => v.name).join(', ')}`);
  await sleep(options.downMs);
  const restartedAt = Date.now();
  for (const victim of victims) victim.start();
  const ready = await Promise.all(
    victims.map((victim) => victim.waitReady(180_000).then((at) => [victim.name, at - killAt] as const)),
  );
  options.say(
    `services: restarted; ready after the kill: ${ready.map(([name, ms]) => `${name} ${ms} ms`).join(', ')}`,
  );
  return {
    name: 'one instance of each service',
    kind: 'service-instances',
    target: victims.map((v) => v.name).join(', '),
    killAt,
    restartedAt,
    notes: { readyAfterKillMs: Object.fromEntries(ready) },
  };
}
