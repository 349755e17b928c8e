import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RunFolder } from './run-folder.ts';
import { createServerProcess, type ServerProcess } from './server-process.ts';

const run = promisify(execFile);

export interface OwnKafka extends ServerProcess {
  brokers: string[];
  version: string;
}

/**
 * A single KRaft node (broker and controller) of the run's own, from the jars deploy/local/stack.sh
 * put in `.cache/kafka-<version>/libs`, configured like the stack's PLAINTEXT broker but on its
 * own ports with its data in the run folder. A restart after SIGKILL reuses the data folder, so the
 * broker recovers its logs as it would in production.
 */
export async function createOwnKafka(options: {
  root: string;
  folder: RunFolder;
  port: number;
  controllerPort: number;
}): Promise<OwnKafka> {
  const version = process.env.KAFKA_VERSION ?? '4.4.0';
  const cache = process.env.CACHE_DIR ?? join(options.root, '.cache');
  const libs = join(cache, `kafka-${version}`, 'libs');
  if (!existsSync(join(libs, '.complete'))) {
    throw new Error(`no Kafka ${version} jars in ${libs}: run \`pnpm stack:up\` once, which fetches them`);
  }
  const dir = join(options.folder.dir, 'kafka');
  mkdirSync(dir, { recursive: true });
  const properties = join(dir, 'server.properties');
  const { port, controllerPort } = options;
  writeFileSync(
    properties,
    [
      '# Written by the delay-queue fault run: the stack’s PLAINTEXT broker on other ports and folders.',
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=3',
      'default.replication.factor=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=10',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'auto.create.topics.enable=false',
      'group.initial.rebalance.delay.ms=0',
      'delete.topic.enable=true',
      '',
    ].join('\n'),
  );
  const heap = (process.env.KAFKA_HEAP_OPTS ?? '-Xms256m -Xmx512m').split(/\s+/).filter(Boolean);
  const jvm = [
    ...heap,
    `-Dlog4j2.configurationFile=${join(options.root, 'deploy', 'local', 'log4j2.properties')}`,
    '-cp',
    join(libs, '*'),
  ];
  // Kafka's own random-uuid is this: 16 random bytes, base64url without padding.
  const clusterId = randomBytes(16).toString('base64url');
  await run('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties], {
    cwd: options.folder.dir,
    timeout: 180_000,
  });
  const server = createServerProcess({
    folder: options.folder,
    name: 'kafka',
    command: 'java',
    args: [...jvm, 'kafka.Kafka', properties],
    ready: /Kafka Server started/,
    readyTimeoutMs: 180_000,
  });
  return { ...server, brokers: [`127.0.0.1:${port}`], version };
}
