import { createServer } from 'node:net';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import type { StackEnv } from './stack-env.ts';

// Images match docker-compose.yml, so tests and the compose deployment run the same servers.
const KAFKA_IMAGE = 'apache/kafka:4.1.1';
const REDIS_IMAGE = 'redis:7.4-alpine';
const POSTGRES_IMAGE = 'postgres:16-alpine';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Starts Kafka (KRaft), Redis (AOF) and PostgreSQL in containers for one test run. */
export async function startContainerStack(): Promise<{ env: StackEnv; stop: () => Promise<void> }> {
  // Kafka must advertise the address clients reach it on, so its host port is fixed up front.
  const kafkaPort = await freePort();
  const started: StartedTestContainer[] = [];
  try {
    const [kafka, redis, postgres] = await Promise.all([
      new GenericContainer(KAFKA_IMAGE)
        .withExposedPorts({ container: 9092, host: kafkaPort })
        .withEnvironment({
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
          KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
          KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
          KAFKA_NUM_PARTITIONS: '3',
        })
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .start()
        .then((c) => (started.push(c), c)),
      new GenericContainer(REDIS_IMAGE)
        .withCommand(['redis-server', '--appendonly', 'yes', '--appendfsync', 'everysec'])
        .withExposedPorts(6379)
        .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
        .start()
        .then((c) => (started.push(c), c)),
      new GenericContainer(POSTGRES_IMAGE)
        .withEnvironment({ POSTGRES_PASSWORD: 'test', POSTGRES_DB: 'openpenpal' })
        .withExposedPorts(5432)
        .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
        .start()
        .then((c) => (started.push(c), c)),
    ]);
    return {
      env: {
        source: 'testcontainers',
        kafkaBrokers: [`127.0.0.1:${kafkaPort}`],
        redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
        databaseUrl: `postgres://postgres:test@${postgres.getHost()}:${postgres.getMappedPort(5432)}/openpenpal`,
      },
      stop: async () => {
        await Promise.all([kafka.stop(), redis.stop(), postgres.stop()]);
      },
    };
  } catch (error) {
    await Promise.allSettled(started.map((c) => c.stop()));
    throw error;
  }
}
