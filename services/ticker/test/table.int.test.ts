import { collectTopics, waitFor } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createTickerWorld, readiness, type TickerWorld } from './int-support.ts';
import { startTickerProcess, stopTickerProcess, type TickerProcess } from './processes.ts';
import { definition } from './support.ts';

const stack = inject('stack');

const SETTINGS = {
  TICKER_LEASE_TTL_MS: '3000',
  TICKER_LEASE_RENEW_MS: '1000',
  TICKER_LEASE_SAFETY_MARGIN_MS: '600',
  KAFKA_SESSION_TIMEOUT_MS: '6000',
};

async function metricValue(
  service: Awaited<ReturnType<TickerWorld['start']>>,
  name: string,
): Promise<number> {
  const text = await service.ctx.metrics.registry.getSingleMetricAsString(name);
  const line = text.split('\n').find((l) => l.startsWith(name));
  return Number(line?.split(' ').at(-1) ?? Number.NaN);
}

describe('the definitions table on a real broker', () => {
  let world: TickerWorld;
  let admin: ReturnType<TickerWorld['kafka']['admin']>;
  const processes: TickerProcess[] = [];
  beforeEach(async () => {
    world = await createTickerWorld(stack);
    admin = world.kafka.admin();
    await admin.connect();
  });
  afterEach(async () => {
    for (const p of processes.splice(0)) await stopTickerProcess(p, 'SIGKILL');
    await admin.disconnect();
    await world.close();
  });

  const tableGroups = async () =>
    (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((g) => g.startsWith(`${world.prefix}-table`));
  const deadLetters = async () =>
    (await admin.fetchTopicOffsets(`${world.definitionsTopic}.dlq`)).reduce((n, p) => n + Number(p.high), 0);
  const defs = () => ({ topic: world.definitionsTopic, schema: 'TaskDefinition' as const });

  it('leaves no table group behind: none after four starts and stops, and those of crashed replicas are removed', async () => {
    await world.producer.send(defs(), [
      { key: 'daily', value: definition('daily', { cron_expression: '0 3 * * *' }) },
    ]);
    for (let i = 0; i < 4; i += 1) {
      const ticker = await world.start({ INSTANCE_ID: 'ticker-a', ...SETTINGS });
      expect(await tableGroups()).toHaveLength(1);
      await ticker.close();
    }
    expect(await tableGroups()).toEqual([]);

    for (const name of ['crash-1', 'crash-2']) {
      const crashing = startTickerProcess(world, name, SETTINGS);
      processes.push(crashing);
      await waitFor(() => crashing.has('ticker started'), { what: `${name} to start`, timeoutMs: 30_000 });
      await stopTickerProcess(crashing, 'SIGKILL');
    }
    expect(await tableGroups()).toHaveLength(2);
    // Their groups lose their member once the session times out; the next start removes them.
    await waitFor(
      async () => {
        const groups = await tableGroups();
        const described = await admin.describeGroups(groups);
        return described.groups.every((g) => g.state === 'Empty');
      },
      { what: 'the crashed replicas to leave their groups', timeoutMs: 20_000 },
    );
    const survivor = await world.start({ INSTANCE_ID: 'ticker-b', ...SETTINGS });
    expect(await tableGroups()).toHaveLength(1);
    await survivor.close();
    expect(await tableGroups()).toEqual([]);
  });

  it('counts a table record it cannot decode at every start, and dead-letters it once however often it starts', async () => {
    await world.producer.send(defs(), [
      { key: 'daily', value: definition('daily', { cron_expression: '0 3 * * *' }) },
    ]);
    await world.producer.sendRaw(
      world.definitionsTopic,
      ['junk-1', 'junk-2', 'junk-3'].map((key) => ({ key, value: Buffer.from(`not avro: ${key}`) })),
    );
    const counted: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const ticker = await world.start({ INSTANCE_ID: `ticker-${i}`, ...SETTINGS });
      expect((await readiness(ticker)).body.checks).toMatchObject({ definitions_loaded: true });
      counted.push(
        await metricValue(ticker, 'scheduler_ticker_undecodable_definitions_total').catch(() => -1),
      );
      await waitFor(async () => (await readiness(ticker)).body.role === 'leader', {
        what: 'leadership',
        timeoutMs: 10_000,
      });
      await waitFor(
        async () => (await metricValue(ticker, 'scheduler_ticker_definition_dead_letters_pending')) === 0,
        { what: 'the undecodable records to be dead-lettered or found dead-lettered', timeoutMs: 10_000 },
      );
      await ticker.close();
    }
    expect(await deadLetters()).toBe(3);
    expect(counted).toEqual([3, 3, 3, 3]);
  });

  it('dead-letters an invalid definition once, naming the field, however often the ticker starts', async () => {
    await world.producer.send(defs(), [
      { key: 'daily', value: definition('daily', { cron_expression: '0 3 * * *' }) },
      { key: 'negative', value: definition('negative', { timeout_secs: -5 }) },
      { key: 'ancient', value: definition('ancient', { cron_expression: null, scheduled_at: -1e15 }) },
    ]);
    for (let i = 0; i < 3; i += 1) {
      const ticker = await world.start({ INSTANCE_ID: 'ticker-a', ...SETTINGS });
      await waitFor(async () => (await readiness(ticker)).body.role === 'leader', {
        what: 'leadership',
        timeoutMs: 10_000,
      });
      await waitFor(
        async () => (await metricValue(ticker, 'scheduler_ticker_definition_dead_letters_pending')) === 0,
        {
          what: 'the invalid definitions to be dead-lettered or found dead-lettered',
          timeoutMs: 10_000,
        },
      );
      expect(await metricValue(ticker, 'scheduler_ticker_invalid_definitions_total')).toBe(2);
      await ticker.close();
    }
    expect(await deadLetters()).toBe(2);
    const dlq = await collectTopics(world.kafka, [`${world.definitionsTopic}.dlq`]);
    const letters = await dlq.waitForCount(2);
    await dlq.close();
    const byKey = new Map(letters.map((m) => [m.key, m.headers]));
    expect(byKey.get('negative')).toMatchObject({ 'dlq.error.code': 'VALIDATION_FAILED' });
    expect(byKey.get('negative')?.['dlq.error.message']).toContain('timeout_secs');
    expect(byKey.get('ancient')?.['dlq.error.message']).toContain('scheduled_at');
  });
  it('dead-letters a record it cannot decode once, with the decoding error, however often the ticker starts', async () => {
    await world.producer.send(defs(), [
      { key: 'daily', value: definition('daily', { cron_expression: '0 3 * * *' }) },
    ]);
    const raw = world.kafka.producer();
    await raw.connect();
    await raw.send({
      topic: world.definitionsTopic,
      messages: [{ key: 'garbage', value: Buffer.from([0xc3, 0x01, 0xde, 0xad, 0xbe, 0xef]) }],
    });
    await raw.disconnect();
    for (let i = 0; i < 3; i += 1) {
      const ticker = await world.start({ INSTANCE_ID: 'ticker-a', ...SETTINGS });
      await waitFor(async () => (await readiness(ticker)).body.role === 'leader', {
        what: 'leadership',
        timeoutMs: 10_000,
      });
      await waitFor(
        async () => (await metricValue(ticker, 'scheduler_ticker_definition_dead_letters_pending')) === 0,
        { what: 'the undecodable record to be dead-lettered or found dead-lettered', timeoutMs: 10_000 },
      );
      await ticker.close();
    }
    expect(await deadLetters()).toBe(1);
    const dlq = await collectTopics(world.kafka, [`${world.definitionsTopic}.dlq`]);
    const [letter] = await dlq.waitForCount(1);
    await dlq.close();
    expect(letter?.key).toBe('garbage');
    expect(letter?.headers['dlq.error.code']).toMatch(/^(DECODE_FAILED|UNKNOWN_SCHEMA)$/);
    expect(letter?.headers['dlq.original.topic']).toBe(world.definitionsTopic);
  });
});
