import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  TOPICS,
  dlqTopicName,
  type Contracts,
  type SchemaName,
  type SchemaTypes,
  type TopicSpec,
} from '@openpenpal/contracts';
import { AssignerProtocol, type Admin, type Kafka, type Producer } from 'kafkajs';

/** A message the fuzzer produced, and where it ended. */
interface BadMessage {
  topic: string;
  kind: 'random-bytes' | 'wrong-schema' | 'nonsense-values';
  what: string;
  partition: number;
  offset: string;
  /** Where it ended: its `<topic>.dlq` copy's error code, an InboundEventRejected, or handled. */
  outcome?: { at: 'dlq'; code: string } | { at: 'rejected'; code: string } | { at: 'handled' };
}

export interface TopicFuzzReport {
  /** Topics fuzzed: the catalogued topics some consumer group of the system reads. */
  topics: string[];
  messages: BadMessage[];
  /** Groups that had not committed past the bad messages by the deadline: stuck partitions. */
  stuck: { group: string; topic: string; partition: number; committed: string; needed: string }[];
  /** Groups that never commit on a topic (table readers, which read it whole at every start). */
  readers: { group: string; topic: string }[];
  /** Undecodable messages (random bytes, wrong schema) without a dead-letter copy. */
  lost: BadMessage[];
}

/** Values that fit a topic's schema but make no sense, for the topics the system consumes. */
export type NonsenseFactory = (topic: TopicSpec) => { what: string; key: string; value: unknown }[];

/** The groups whose members are assigned `topic` now: the system's consumers of it. */
async function consumersOf(admin: Admin, topics: readonly string[]): Promise<Map<string, Set<string>>> {
  const { groups } = await admin.listGroups();
  // The scenarios' own readers (`e2e-…` groups, like this fuzzer's) are not the system's consumers.
  const ours = groups.map((group) => group.groupId).filter((id) => !id.startsWith('e2e-'));
  const described = await admin.describeGroups(ours);
  const byTopic = new Map<string, Set<string>>();
  for (const group of described.groups) {
    for (const member of group.members) {
      if (member.memberAssignment.length === 0) continue;
      const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      for (const topic of Object.keys(assignment?.assignment ?? {})) {
        if (!topics.includes(topic)) continue;
        const set = byTopic.get(topic) ?? new Set<string>();
        set.add(group.groupId);
        byTopic.set(topic, set);
      }
    }
  }
  return byTopic;
}

/** A valid single-object encoding of a schema other than the topic's, with that schema's header. */
function wrongSchemaValue(contracts: Contracts, spec: TopicSpec, samples: SampleValues): Buffer | undefined {
  for (const [schema, value] of Object.entries(samples) as [SchemaName, unknown][]) {
    if (schema === spec.valueSchema) continue;
    return contracts.codec(schema).encode(value as SchemaTypes[typeof schema]);
  }
  return undefined;
}

/** Valid values of some schemas, to send where another schema belongs. */
export type SampleValues = Partial<{ [S in SchemaName]: SchemaTypes[S] }>;

async function produceOne(
  producer: Producer,
  topic: string,
  message: { key: string; value: Buffer; headers?: Record<string, string> },
): Promise<{ partition: number; offset: string }> {
  const [meta] = await producer.send({ topic, acks: -1, messages: [message] });
  if (!meta?.baseOffset) throw new Error(`no offset for a message sent to ${topic}`);
  return { partition: meta.partition, offset: meta.baseOffset };
}

async function waitCommitted(
  admin: Admin,
  groups: Map<string, Set<string>>,
  needed: Map<string, Map<number, bigint>>,
  deadline: number,
): Promise<TopicFuzzReport['stuck']> {
  for (;;) {
    const stuck: TopicFuzzReport['stuck'] = [];
    for (const [topic, partitions] of needed) {
      for (const group of groups.get(topic) ?? []) {
        const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        for (const [partition, next] of partitions) {
          const committed = offsets?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
          if (BigInt(committed) < next) {
            stuck.push({ group, topic, partition, committed, needed: next.toString() });
          }
        }
      }
    }
    if (stuck.length === 0 || Date.now() > deadline) return stuck;
    await sleep(1_000);
  }
}

/** Splits what is behind into groups that never committed on the topic (readers) and stuck ones. */
async function splitReaders(
  admin: Admin,
  behind: TopicFuzzReport['stuck'],
): Promise<Pick<TopicFuzzReport, 'stuck' | 'readers'>> {
  const readers: TopicFuzzReport['readers'] = [];
  const stuck: TopicFuzzReport['stuck'] = [];
  const checked = new Map<string, boolean>();
  for (const item of behind) {
    const id = `${item.group}/${item.topic}`;
    if (!checked.has(id)) {
      const [offsets] = await admin.fetchOffsets({ groupId: item.group, topics: [item.topic] });
      const never = (offsets?.partitions ?? []).every((p) => p.offset === '-1');
      checked.set(id, never);
      if (never) readers.push({ group: item.group, topic: item.topic });
    }
    if (!checked.get(id)) stuck.push(item);
  }
  return { stuck, readers };
}

/**
 * Reads the dead-letter topics and the rejections topic from their start for as long as the run
 * lasts, so a copy written while the fuzzer waits is seen without a reader per topic and pass.
 */
async function startCollector(kafka: Kafka, topics: readonly string[]) {
  const seen: { topic: string; headers: Record<string, string>; value: Buffer | null }[] = [];
  const consumer = kafka.consumer({ groupId: `e2e-fuzz-collector-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  await consumer.run({
    eachMessage: ({ topic, message }) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers ?? {})) {
        const last = Array.isArray(value) ? value.at(-1) : value;
        if (Buffer.isBuffer(last) || typeof last === 'string') headers[name] = last.toString();
      }
      seen.push({ topic, headers, value: message.value });
      return Promise.resolve();
    },
  });
  return { seen, close: () => consumer.disconnect() };
}

/** Random bytes, another schema's messages and the topic's nonsense values, one send each. */
async function sendBadMessages(
  producer: Producer,
  contracts: Contracts,
  spec: TopicSpec,
  options: { samples: SampleValues; nonsense: NonsenseFactory },
  perKind: number,
): Promise<BadMessage[]> {
  const sent: BadMessage[] = [];
  const send = async (
    kind: BadMessage['kind'],
    what: string,
    key: string,
    value: Buffer,
    schema?: string,
  ) => {
    const at = await produceOne(producer, spec.name, {
      key,
      value,
      ...(schema ? { headers: { schema } } : {}),
    });
    sent.push({ topic: spec.name, kind, what, ...at });
  };
  for (let i = 0; i < perKind; i += 1) {
    const size = [0, 1, 5, 64, 4096][i % 5] ?? 16;
    await send(
      'random-bytes',
      `${size} random bytes`,
      `fuzz-${randomUUID()}`,
      randomBytes(size),
      spec.valueSchema,
    );
    // Random bytes behind the single-object marker: looks like Avro until the fingerprint.
    const marked = Buffer.concat([Buffer.from([0xc3, 0x01]), randomBytes(8 + i * 13)]);
    await send('random-bytes', 'the Avro marker then random bytes', `fuzz-${randomUUID()}`, marked);
    const wrong = wrongSchemaValue(contracts, spec, options.samples);
    if (wrong) await send('wrong-schema', 'a valid message of another schema', `fuzz-${randomUUID()}`, wrong);
  }
  for (const item of options.nonsense(spec)) {
    const value = contracts.codec(spec.valueSchema).encode(item.value as never);
    await send('nonsense-values', item.what, item.key, value, spec.valueSchema);
  }
  return sent;
}

/**
 * Sends random bytes, another schema's messages and nonsense values to every catalogued topic the
 * system consumes, then proves: every consuming group committed past them (no stuck partition),
 * every undecodable one is in `<topic>.dlq` with a `dlq.error.code`, and says where each nonsense
 * value ended (dead letter, InboundEventRejected, or handled).
 */
export async function runTopicFuzz(options: {
  kafka: Kafka;
  contracts: Contracts;
  samples: SampleValues;
  nonsense: NonsenseFactory;
  /** Random-bytes and wrong-schema messages per topic. */
  perKind?: number;
  timeoutMs?: number;
  rejectionsTopic?: string;
}): Promise<TopicFuzzReport> {
  const { kafka, contracts } = options;
  const perKind = options.perKind ?? 3;
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  let collector: Awaited<ReturnType<typeof startCollector>> | undefined;
  await Promise.all([admin.connect(), producer.connect()]);
  try {
    const catalogued = TOPICS.map((spec) => spec.name);
    const groups = await consumersOf(admin, catalogued);
    const specs = TOPICS.filter((spec) => groups.has(spec.name));
    const rejectionsTopic = options.rejectionsTopic ?? 'openpenpal.scheduler.inbound-rejections';
    collector = await startCollector(kafka, [
      ...specs.map((spec) => dlqTopicName(spec.name)),
      rejectionsTopic,
    ]);
    const messages: BadMessage[] = [];
    for (const spec of specs)
      messages.push(...(await sendBadMessages(producer, contracts, spec, options, perKind)));
    const needed = new Map<string, Map<number, bigint>>();
    for (const message of messages) {
      const partitions = needed.get(message.topic) ?? new Map<number, bigint>();
      const next = BigInt(message.offset) + 1n;
      if ((partitions.get(message.partition) ?? 0n) < next) partitions.set(message.partition, next);
      needed.set(message.topic, partitions);
    }
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    const { stuck, readers } = await splitReaders(
      admin,
      await waitCommitted(admin, groups, needed, deadline),
    );

    // Dead letters of executions are written after the commit (a handler settles the execution
    // first): wait, up to the deadline, until every undecodable message has its copy.
    const where = new Map(messages.map((m) => [`${m.topic}/${m.partition}/${m.offset}`, m]));
    const rejections = contracts.codec('InboundEventRejected');
    const settle = () => {
      for (const copy of collector?.seen.splice(0) ?? []) {
        if (copy.topic === rejectionsTopic) {
          if (!copy.value) continue;
          const rejected = rejections.decode(copy.value);
          const original = where.get(
            `${rejected.sourceTopic}/${rejected.sourcePartition}/${rejected.sourceOffset}`,
          );
          if (original && !original.outcome) original.outcome = { at: 'rejected', code: rejected.errorCode };
          continue;
        }
        const h = copy.headers;
        const original = where.get(
          `${h['dlq.original.topic']}/${h['dlq.original.partition']}/${h['dlq.original.offset']}`,
        );
        if (original) original.outcome = { at: 'dlq', code: h['dlq.error.code'] ?? '(none)' };
      }
      return messages.filter((m) => m.kind !== 'nonsense-values' && m.outcome?.at !== 'dlq');
    };
    while (settle().length > 0 && Date.now() < deadline) await sleep(1_000);
    await sleep(2_000);
    const lost = settle();
    for (const message of messages) message.outcome ??= { at: 'handled' };
    return { topics: specs.map((spec) => spec.name), messages, stuck, readers, lost };
  } finally {
    await Promise.allSettled([producer.disconnect(), admin.disconnect(), collector?.close()]);
  }
}
