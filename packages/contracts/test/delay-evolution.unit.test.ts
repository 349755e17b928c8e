import { describe, expect, it } from 'vitest';
import { createCodec } from '../src/codec.ts';
import { SCHEMA_VERSIONS } from '../src/generated/schemas.ts';
import { createSchemaRegistry, registerSchema } from '../src/registry.ts';
import { unionBranch, type DelayedMessageEvent, type DelayRequest, type SchemaTypes } from '../src/index.ts';
import { SAMPLES } from './samples.ts';

// DelayRequest v2 added ScheduleDelayedMessage.if_pending and DelayedMessageEvent v2 the schedule
// outcome `rescheduled`. These tests pin what each side of the change reads.
const current = createSchemaRegistry(SCHEMA_VERSIONS);
const v1Only = createSchemaRegistry(SCHEMA_VERSIONS.filter((v) => v.version === 1));

/**
 * What a reader whose own schema is still v1 reads from a message written with the newest version:
 * another language's consumer that loaded the new file but was built against the old one.
 */
function readWithV1<N extends 'DelayRequest' | 'DelayedMessageEvent'>(
  name: N,
  bytes: Buffer,
): SchemaTypes[N] {
  const v1 = SCHEMA_VERSIONS.find((v) => v.name === name && v.version === 1);
  if (!v1) throw new Error(`no ${name}/v1`);
  const reader = registerSchema(v1).type;
  const writer = current.latest(name).type;
  return reader.fromBuffer(bytes.subarray(10), reader.createResolver(writer)) as SchemaTypes[N];
}

function scheduleOf(request: DelayRequest) {
  const branch = unionBranch(request.event);
  return branch.name === 'org.openpenpal.scheduler.ScheduleDelayedMessage' ? branch.value : undefined;
}

function outcomeOf(event: DelayedMessageEvent) {
  const branch = unionBranch(event.event);
  return branch.name === 'org.openpenpal.scheduler.DelayedMessageScheduled'
    ? branch.value.schedule_outcome
    : undefined;
}

const replaceRequest = SAMPLES.DelayRequest.find((r) => scheduleOf(r)?.if_pending === 'replace');
const rescheduledEvent = SAMPLES.DelayedMessageEvent.find((e) => outcomeOf(e) === 'rescheduled');

describe('delay contracts v2', () => {
  it('reads a v1 schedule request with if_pending null, which means keep', () => {
    const { if_pending: _dropped, ...v1Fields } = scheduleOf(replaceRequest!)!;
    const bytes = createCodec<DelayRequest>(v1Only, 'DelayRequest').encode({
      ...replaceRequest!,
      event: { 'org.openpenpal.scheduler.ScheduleDelayedMessage': v1Fields },
    });
    const read = createCodec<DelayRequest>(current, 'DelayRequest').decode(bytes);
    expect(scheduleOf(read)).toEqual({ ...v1Fields, if_pending: null });
  });

  it('lets a reader built on DelayRequest v1 read a replace request, without the new field', () => {
    const bytes = createCodec<DelayRequest>(current, 'DelayRequest').encode(replaceRequest!);
    const read = readWithV1('DelayRequest', bytes);
    const { if_pending: _dropped, ...v1Fields } = scheduleOf(replaceRequest!)!;
    expect(scheduleOf(read)).toEqual(v1Fields);
  });

  it('lets a reader built on DelayedMessageEvent v1 read rescheduled as unknown', () => {
    const bytes = createCodec<DelayedMessageEvent>(current, 'DelayedMessageEvent').encode(rescheduledEvent!);
    const read = readWithV1('DelayedMessageEvent', bytes);
    expect(outcomeOf(read)).toBe('unknown');
    expect(read.message_id).toBe(rescheduledEvent?.message_id);
  });

  it('has samples of every if_pending value and of every schedule outcome the delay queue writes', () => {
    const ifPending = SAMPLES.DelayRequest.filter((r) => scheduleOf(r)).map((r) => scheduleOf(r)?.if_pending);
    expect(new Set(ifPending)).toEqual(new Set([null, 'keep', 'replace']));
    const outcomes = SAMPLES.DelayedMessageEvent.map(outcomeOf).filter((o) => o !== undefined);
    expect(new Set(outcomes)).toEqual(new Set(['scheduled', 'duplicate', 'already_fired', 'rescheduled']));
  });
});
