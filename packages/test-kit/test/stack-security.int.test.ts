import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../src/index.ts';
import {
  kafkaErrorKinds,
  startScramBroker,
  stackVariables,
  type ScramBroker,
} from './stack-security-support.ts';

const hex = () => randomBytes(6).toString('hex');

interface ScramLogin {
  mechanism: 'scram-sha-512';
  username: string;
  password: string;
}

const vars = stackVariables();

describe('Redis ACL users of the local stack', () => {
  const urls = { ticker: vars.TICKER_REDIS_URL, delayQueue: vars.DELAY_QUEUE_REDIS_URL };
  const skipReason =
    'the stack env names no TICKER_REDIS_URL / DELAY_QUEUE_REDIS_URL (a stack started by an older ' +
    'stack.sh, or given by variables): run `pnpm stack:up` to create the ACL users';
  const clients: Redis[] = [];
  const connect = async (url: string | undefined, name: string): Promise<Redis> => {
    // As the services connect: a connection name (CLIENT SETNAME) and the INFO ready check.
    const redis = new Redis(url ?? '', { lazyConnect: true, maxRetriesPerRequest: 1, connectionName: name });
    clients.push(redis);
    await redis.connect();
    return redis;
  };
  const probe = `acl-probe-${hex()}`;
  const own = { ticker: `{openpenpal:ticker}:${probe}`, delayQueue: `{openpenpal:delay-queue}:${probe}` };

  beforeEach((ctx) => {
    ctx.skip(!urls.ticker || !urls.delayQueue, skipReason);
  });
  afterAll(async () => {
    if (urls.ticker) await (await connect(urls.ticker, 'cleanup')).del(own.ticker);
    await Promise.all(clients.map((redis) => redis.quit().catch(() => redis.disconnect())));
  });

  it('reads and writes keys under its own prefix, directly and from a script', async () => {
    const ticker = await connect(urls.ticker, 'ticker-acl-test');
    expect(await ticker.set(own.ticker, 'one')).toBe('OK');
    expect(await ticker.get(own.ticker)).toBe('one');
    const script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])";
    expect(await ticker.eval(script, 1, own.ticker, 'two')).toBe('two');
  });

  it("is refused another service's keys, also from inside a script", async () => {
    const ticker = await connect(urls.ticker, 'ticker-acl-test');
    await expect(ticker.get(own.delayQueue)).rejects.toThrow(/NOPERM/);
    await expect(ticker.set('unprefixed-key', 'x')).rejects.toThrow(/NOPERM/);
    await expect(ticker.eval("return redis.call('GET', KEYS[1])", 1, own.delayQueue)).rejects.toThrow(
      /NOPERM|permissions/,
    );
    const delayQueue = await connect(urls.delayQueue, 'delay-queue-acl-test');
    await expect(delayQueue.get(own.ticker)).rejects.toThrow(/NOPERM/);
  });

  it('is refused commands its service never sends', async () => {
    const ticker = await connect(urls.ticker, 'ticker-acl-test');
    for (const command of [
      ['FLUSHALL'],
      ['FLUSHDB'],
      ['KEYS', '*'],
      ['CONFIG', 'GET', '*'],
      ['ACL', 'LIST'],
    ]) {
      const [name, ...args] = command as [string, ...string[]];
      await expect(ticker.call(name, ...args), name).rejects.toThrow(/NOPERM/);
    }
    await expect(ticker.eval("return redis.call('FLUSHALL')", 0)).rejects.toThrow(
      /can't run this command|NOPERM/,
    );
  });

  it('publishes and subscribes on its own channels only', async () => {
    const channel = `{openpenpal:delay-queue}:${probe}`;
    const subscriber = await connect(urls.delayQueue, 'delay-queue-acl-wakeups');
    const received: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => received.push(message));
    await subscriber.subscribe(channel);
    const delayQueue = await connect(urls.delayQueue, 'delay-queue-acl-test');
    // As schedule.lua announces an earlier wake-up.
    await delayQueue.eval("return redis.call('PUBLISH', KEYS[1], ARGV[1])", 1, channel, '42');
    await waitFor(() => received.includes('42'), { what: 'the wake-up published from a script' });
    await expect(delayQueue.publish('{openpenpal:ticker}:wake', '1')).rejects.toThrow(/NOPERM/);
    const other = await connect(urls.delayQueue, 'delay-queue-acl-other');
    await expect(other.subscribe('{openpenpal:ticker}:wake')).rejects.toThrow(/NOPERM/);
  });

  it('lets the delay queue use every shard of its store as its scripts do, and the API only read them', async (ctx) => {
    ctx.skip(!vars.API_REDIS_URL, skipReason);
    // Shard 3 of the sharded store: a hash tag of its own ({prefix:s<n>}), not the store's prefix.
    const shard = `{openpenpal:delay-queue:s3}:${probe}`;
    const delayQueue = await connect(urls.delayQueue, 'delay-queue-acl-test');
    const script = [
      "redis.call('HSETNX', KEYS[1], 'a', ARGV[1])",
      "if redis.call('EXISTS', KEYS[1]) == 0 then return nil end",
      "return redis.call('HGETALL', KEYS[1])",
    ].join('; ');
    expect(await delayQueue.eval(script, 1, shard, 'one')).toEqual(['a', 'one']);
    const subscriber = await connect(urls.delayQueue, 'delay-queue-acl-wakeups');
    await subscriber.subscribe('{openpenpal:delay-queue:s3}:wake');
    // Not a shard: another prefix that merely starts alike.
    await expect(delayQueue.get(`{openpenpal:delay-queue-other}:${probe}`)).rejects.toThrow(/NOPERM/);
    const api = await connect(vars.API_REDIS_URL, 'api-acl-test');
    expect(await api.hgetall(shard)).toEqual({ a: 'one' });
    await expect(api.hset(shard, 'b', 'x')).rejects.toThrow(/NOPERM/);
    await delayQueue.eval("return redis.call('HDEL', KEYS[1], 'a')", 1, shard);
  });

  it('refuses a wrong password', async () => {
    const ticker = await connect(urls.ticker, 'ticker-acl-test');
    await expect(ticker.call('AUTH', 'ticker', 'wrong')).rejects.toThrow(/WRONGPASS/);
    await expect(ticker.call('AUTH', 'default', 'wrong')).rejects.toThrow(/WRONGPASS/);
  });
});

describe('Kafka SASL/SCRAM with ACLs (a second broker: STACK_KAFKA_AUTH=scram stack.sh up kafka)', () => {
  let started: ScramBroker | undefined;
  const broker = (): ScramBroker => {
    if (!started) throw new Error('the SCRAM broker did not start');
    return started;
  };
  const kafkas: { disconnect(): Promise<void> }[] = [];

  // Refusals are checked without retries; work that must succeed keeps kafkajs' retries, since a
  // fresh broker answers "coordinator loading" for a moment.
  const client = (sasl?: SASLOptions, retries = 5): Kafka =>
    new Kafka({
      clientId: `security-${hex()}`,
      brokers: broker().brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      authenticationTimeout: 3_000,
      retry: { retries },
      ...(sasl ? { sasl } : {}),
    } satisfies KafkaConfig);
  const as = (user: 'admin' | 'ticker'): ScramLogin => {
    const prefix = user === 'admin' ? '' : `${user.toUpperCase()}_`;
    return {
      mechanism: 'scram-sha-512',
      username: broker().variables[`${prefix}KAFKA_SASL_USERNAME`] ?? '',
      password: broker().variables[`${prefix}KAFKA_SASL_PASSWORD`] ?? '',
    };
  };
  const admin = async (sasl?: SASLOptions, retries?: number) => {
    const created = client(sasl, retries).admin();
    kafkas.push(created);
    await created.connect();
    return created;
  };

  beforeAll(async () => {
    started = await startScramBroker();
  });
  afterAll(async () => {
    await Promise.allSettled(kafkas.map((k) => k.disconnect()));
    await started?.stop();
  });

  it('writes the super user and one login per service into its env file', () => {
    expect(broker().variables.KAFKA_SASL_MECHANISM).toBe('scram-sha-512');
    expect(broker().variables.KAFKA_SASL_USERNAME).toBe('admin');
    for (const service of ['TICKER', 'DELAY_QUEUE', 'RECORDER', 'HANDLERS', 'NOTIFIER', 'API']) {
      expect(broker().variables[`${service}_KAFKA_SASL_PASSWORD`], service).toMatch(/^[0-9a-f]{36}$/);
    }
  });

  it('refuses a client without credentials', async () => {
    // The listener answers nothing but the SASL handshake (and ApiVersions): the broker drops the
    // connection at the first other request.
    const error: unknown = await admin(undefined, 0)
      .then((connected) => connected.listTopics())
      .catch((failure: unknown) => failure);
    expect(kafkaErrorKinds(error).join(' ')).toMatch(/KafkaJSConnection(Closed)?Error/);
  });

  it('refuses wrong credentials', async () => {
    const error: unknown = await admin({ ...as('ticker'), password: 'wrong' }, 0).catch((e: unknown) => e);
    expect(kafkaErrorKinds(error)).toContain('KafkaJSSASLAuthenticationError');
  });

  it('lets a service produce and consume on its topics, in a group of its own', async () => {
    const topic = `scheduler.security-${hex()}`;
    const ticker = client(as('ticker'));
    const tickerAdmin = await admin(as('ticker'));
    await tickerAdmin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });

    const producer = ticker.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 3 } });
    kafkas.push(producer);
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'hello' }] });

    const consumer = ticker.consumer({ groupId: `ticker-security-${hex()}`, maxWaitTimeInMs: 100 });
    kafkas.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const values: string[] = [];
    await consumer.run({
      eachMessage: ({ message }) => {
        values.push(message.value?.toString() ?? '');
        return Promise.resolve();
      },
    });
    await waitFor(() => values.length > 0, { what: 'the message produced as ticker', timeoutMs: 30_000 });
    expect(values).toEqual(['hello']);
  });

  it('lets the ticker commit a transaction under its own transactional id, and refuses another id', async () => {
    const topic = `scheduler.security-${hex()}`;
    const tickerAdmin = await admin(as('ticker'));
    await tickerAdmin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const ticker = client(as('ticker'));
    // As TICKER_TRIGGER_SEND=transactional does: <KAFKA_GROUP_ID>-triggers.
    const own = ticker.producer({
      transactionalId: 'ticker-triggers',
      idempotent: true,
      maxInFlightRequests: 1,
    });
    kafkas.push(own);
    await own.connect();
    const transaction = await own.transaction();
    await transaction.send({ topic, acks: -1, messages: [{ key: 'k', value: 'in a transaction' }] });
    await transaction.commit();

    const other = client(as('ticker')).producer({
      transactionalId: `other-${hex()}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    kafkas.push(other);
    await other.connect();
    const refused: unknown = await other
      .transaction()
      .then((t) => t.send({ topic, acks: -1, messages: [{ value: 'x' }] }))
      .catch((e: unknown) => e);
    // FindCoordinator answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED; kafkajs logs that answer and
    // reports a coordinator it cannot find (as for another service's group, below).
    expect(kafkaErrorKinds(refused).join(' ')).toMatch(
      /TRANSACTIONAL_ID_AUTHORIZATION_FAILED|KafkaJSGroupCoordinatorNotFound/,
    );
  });

  it("refuses a topic and a group outside the service's grants", async () => {
    const denied = `security-denied-${hex()}`;
    const superUser = await admin(as('admin'));
    await superUser.createTopics({ topics: [{ topic: denied, numPartitions: 1 }], waitForLeaders: true });

    const ticker = client(as('ticker'));
    const producer = ticker.producer();
    kafkas.push(producer);
    await producer.connect();
    const sent: unknown = await producer
      .send({ topic: denied, messages: [{ value: 'x' }] })
      .catch((e: unknown) => e);
    expect(kafkaErrorKinds(sent)).toContain('TOPIC_AUTHORIZATION_FAILED');

    const tickerAdmin = await admin(as('ticker'));
    const created: unknown = await tickerAdmin
      .createTopics({ topics: [{ topic: `not-scheduler-${hex()}`, numPartitions: 1 }] })
      .catch((e: unknown) => e);
    expect(kafkaErrorKinds(created).join(' ')).toMatch(/AUTHORIZATION_FAILED/);

    // FindCoordinator answers GROUP_AUTHORIZATION_FAILED for another service's group; kafkajs only
    // logs that answer (and then reports a coordinator it cannot find), so the test reads its log.
    const readable = `scheduler.security-${hex()}`;
    await superUser.createTopics({ topics: [{ topic: readable, numPartitions: 1 }], waitForLeaders: true });
    const logged: string[] = [];
    const consumer = new Kafka({
      clientId: `security-${hex()}`,
      brokers: broker().brokers,
      sasl: as('ticker'),
      logLevel: logLevel.DEBUG,
      logCreator: () => (entry) => logged.push(...kafkaErrorKinds((entry.log as { error?: unknown }).error)),
    }).consumer({ groupId: `recorder-${hex()}` });
    kafkas.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: readable, fromBeginning: true });
    await consumer.run({ eachMessage: () => Promise.resolve() });
    await waitFor(() => logged.includes('GROUP_AUTHORIZATION_FAILED'), {
      what: "the broker's refusal of a group outside the ticker's prefix",
      timeoutMs: 30_000,
      describe: () => [...new Set(logged)],
    });
  });
});
