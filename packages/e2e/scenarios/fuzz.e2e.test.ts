import { readFileSync } from 'node:fs';
import { createContracts } from '@openpenpal/contracts';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, inject, it } from 'vitest';
import { signToken } from '../src/client/api.ts';
import { apiFuzzCases, type OpenApiDocument } from '../src/fuzz/api-cases.ts';
import { runApiFuzz } from '../src/fuzz/api-fuzz.ts';
import { FUZZ_SAMPLES, fuzzNonsense } from '../src/fuzz/nonsense.ts';
import { eventSigner } from '../src/fuzz/signing.ts';
import { runTopicFuzz } from '../src/fuzz/topic-fuzz.ts';

const info = inject('e2e');
const env = info.stackEnv;
const OPENAPI = new URL('../../../docs/openapi.json', import.meta.url);
/** The figures of the pass, in the run's output. */
const say = (line: string) => process.stdout.write(`[fuzz] ${line}\n`);

/** `/readyz` of every service: none may have crashed or lost a dependency over bad input. */
async function allReady(): Promise<string[]> {
  const down: string[] = [];
  // The fake chat API has no /readyz: it is not one of ours.
  for (const { name, url } of info.services.filter((service) => service.name !== 'fake-chat')) {
    const status = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) })
      .then((response) => response.status)
      .catch(() => 0);
    if (status !== 200) down.push(`${name}: ${status}`);
  }
  return down;
}

describe('bad input', () => {
  it('every route answers every malformed, unauthenticated or unknown request with a clear 4xx', async () => {
    const secret = env.API_JWT_SECRET ?? '';
    const doc = JSON.parse(readFileSync(OPENAPI, 'utf8')) as OpenApiDocument;
    const sub = 'e2e-fuzzer';
    const cases = apiFuzzCases(
      doc,
      {
        admin: signToken(secret, { sub, role: 'platform_admin' }),
        user: signToken(secret, { sub, role: 'student' }),
        forged: signToken(`${secret}-not`, { sub, role: 'platform_admin' }),
        expired: signToken(secret, { sub, role: 'platform_admin' }, Date.now() - 3 * 3_600_000),
      },
      eventSigner(env.API_EVENT_SIGNING_SECRET ?? ''),
    );
    const report = await runApiFuzz(info.apiUrl, cases);
    say(`API: ${report.cases} requests, answers ${JSON.stringify(report.statuses)}`);
    expect(report.cases).toBeGreaterThan(300);
    expect(report.findings).toEqual([]);
    expect(await allReady()).toEqual([]);
  });

  it('every consumed topic dead-letters what it cannot read, refuses nonsense, and moves on', async () => {
    const mechanism = env.KAFKA_SASL_MECHANISM;
    const kafka = new Kafka({
      clientId: 'e2e-fuzz',
      brokers: (env.KAFKA_BROKERS ?? '').split(',').filter(Boolean),
      logLevel: logLevel.NOTHING,
      ...(mechanism
        ? {
            sasl: {
              mechanism: mechanism as 'scram-sha-256',
              username: env.KAFKA_SASL_USERNAME ?? '',
              password: env.KAFKA_SASL_PASSWORD ?? '',
            },
          }
        : {}),
    });
    const report = await runTopicFuzz({
      kafka,
      contracts: createContracts(),
      samples: FUZZ_SAMPLES,
      nonsense: fuzzNonsense,
      timeoutMs: 90_000,
    });
    const where: Record<string, number> = {};
    for (const message of report.messages) {
      const at =
        message.outcome?.at === 'handled' ? 'handled' : `${message.outcome?.at}:${message.outcome?.code}`;
      where[`${message.kind} → ${at}`] = (where[`${message.kind} → ${at}`] ?? 0) + 1;
    }
    say(`topics: ${report.topics.length}, messages ${report.messages.length}, ${JSON.stringify(where)}`);
    for (const message of report.messages.filter((m) => m.kind === 'nonsense-values')) {
      say(`  ${message.topic}: ${message.what} → ${JSON.stringify(message.outcome)}`);
    }
    say(`readers that never commit (not checked for progress): ${JSON.stringify(report.readers)}`);
    // Every consumer the system runs: the five handlers, ticker, delay queue, recorder, notifier.
    expect(report.topics.length).toBeGreaterThanOrEqual(12);
    expect(report.stuck).toEqual([]);
    expect(report.lost).toEqual([]);
    expect(await allReady()).toEqual([]);
  }, 240_000);
});
