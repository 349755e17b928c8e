import { SchedulerError } from '@openpenpal/errors';
import { catalogueTopicOf, topicRefOf } from './topic-refs.ts';

/**
 * The message a delayed item publishes when it falls due, as the store keeps it (the store treats
 * it as opaque bytes). Memory per pending item is what this format is for: a 200-byte payload
 * should cost little more than its own bytes, so the format is binary and spends single bytes on
 * what most records share.
 *
 *   byte 0      high nibble: format version (1); low nibble: flags, bit 0 catalogue topic
 *               reference, bit 1 key present, bit 2 headers present
 *   topic       reference: 2 bytes big-endian (topic-refs.ts); else varint length + UTF-8 name
 *   key         varint length + UTF-8 (only with bit 1)
 *   headers     varint count, then per header a tag byte (only with bit 2):
 *                 0        varint name length, name, varint value length, value
 *                 1        traceparent, version 00, packed: 16-byte trace id, 8-byte span id, flags
 *                 2..5     a well-known name (WELL_KNOWN), varint value length, value
 *   payload     the rest, byte for byte
 *
 * Lengths are unsigned LEB128 varints (one byte below 128).
 */
export interface DelayedRecord {
  topic: string;
  key: string | null;
  headers: Record<string, Buffer>;
  payload: Buffer;
}

const VERSION = 0x10;
const FLAG_TOPIC_REF = 0x01;
const FLAG_KEY = 0x02;
const FLAG_HEADERS = 0x04;

const TAG_LITERAL = 0;
const TAG_TRACEPARENT_PACKED = 1;
/** Header names most requests carry, coded as one byte each; the index + 2 is the tag. */
const WELL_KNOWN = ['traceparent', 'tracestate', 'baggage', 'schema'] as const;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const PACKED_TRACEPARENT_BYTES = 25;

function varintLength(value: number): number {
  let bytes = 1;
  for (let rest = value >>> 7; rest > 0; rest >>>= 7) bytes += 1;
  return bytes;
}

function writeVarint(target: Buffer, offset: number, value: number): number {
  let rest = value;
  let at = offset;
  while (rest >= 0x80) {
    target[at++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  target[at++] = rest;
  return at;
}

interface Reader {
  buffer: Buffer;
  offset: number;
}

function corrupt(reason: string): SchedulerError {
  return new SchedulerError('INTERNAL', `delayed record is malformed: ${reason}`);
}

function readVarint(reader: Reader): number {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const byte = reader.buffer[reader.offset++];
    if (byte === undefined) throw corrupt('truncated length');
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return value;
  }
  throw corrupt('length too long');
}

function readBytes(reader: Reader, length: number): Buffer {
  const end = reader.offset + length;
  if (end > reader.buffer.length) throw corrupt('truncated field');
  const bytes = reader.buffer.subarray(reader.offset, end);
  reader.offset = end;
  return bytes;
}

/** One header as it will be written: its tag and the bytes that follow the tag. */
interface HeaderPart {
  tag: number;
  name: Buffer | undefined;
  value: Buffer;
}

function headerPart(name: string, value: Buffer): HeaderPart {
  if (name === 'traceparent') {
    // Packed only when unpacking gives the same text back, so headers stay byte for byte.
    const match = TRACEPARENT.exec(value.toString('latin1'));
    if (match) {
      const packed = Buffer.from(`${match[1]}${match[2]}${match[3]}`, 'hex');
      return { tag: TAG_TRACEPARENT_PACKED, name: undefined, value: packed };
    }
  }
  const known = (WELL_KNOWN as readonly string[]).indexOf(name);
  if (known >= 0) return { tag: known + 2, name: undefined, value };
  return { tag: TAG_LITERAL, name: Buffer.from(name, 'utf8'), value };
}

function partLength(part: HeaderPart): number {
  if (part.tag === TAG_TRACEPARENT_PACKED) return 1 + PACKED_TRACEPARENT_BYTES;
  const name = part.name ? varintLength(part.name.length) + part.name.length : 0;
  return 1 + name + varintLength(part.value.length) + part.value.length;
}

/** The stored form of a record. `omitHeaders` names headers not to keep (the dispatcher sets them). */
export function encodeRecord(record: DelayedRecord, omitHeaders: ReadonlySet<string> = new Set()): Buffer {
  const ref = topicRefOf(record.topic);
  const topicBytes = ref === undefined ? Buffer.from(record.topic, 'utf8') : undefined;
  const keyBytes = record.key === null ? undefined : Buffer.from(record.key, 'utf8');
  const parts: HeaderPart[] = [];
  for (const [name, value] of Object.entries(record.headers)) {
    if (!omitHeaders.has(name)) parts.push(headerPart(name, value));
  }

  let flags = 0;
  let length = 1;
  if (topicBytes) {
    length += varintLength(topicBytes.length) + topicBytes.length;
  } else {
    flags |= FLAG_TOPIC_REF;
    length += 2;
  }
  if (keyBytes) {
    flags |= FLAG_KEY;
    length += varintLength(keyBytes.length) + keyBytes.length;
  }
  if (parts.length > 0) {
    flags |= FLAG_HEADERS;
    length += varintLength(parts.length);
    for (const part of parts) length += partLength(part);
  }
  length += record.payload.length;

  const out = Buffer.allocUnsafe(length);
  out[0] = VERSION | flags;
  let at = 1;
  if (topicBytes) {
    at = writeVarint(out, at, topicBytes.length);
    at += topicBytes.copy(out, at);
  } else {
    at = out.writeUInt16BE(ref ?? 0, at);
  }
  if (keyBytes) {
    at = writeVarint(out, at, keyBytes.length);
    at += keyBytes.copy(out, at);
  }
  if (parts.length > 0) {
    at = writeVarint(out, at, parts.length);
    for (const part of parts) {
      out[at++] = part.tag;
      if (part.tag !== TAG_TRACEPARENT_PACKED) {
        if (part.name) {
          at = writeVarint(out, at, part.name.length);
          at += part.name.copy(out, at);
        }
        at = writeVarint(out, at, part.value.length);
      }
      at += part.value.copy(out, at);
    }
  }
  record.payload.copy(out, at);
  return out;
}

function readHeader(reader: Reader, headers: Record<string, Buffer>): void {
  const tag = reader.buffer[reader.offset++];
  if (tag === undefined) throw corrupt('truncated header');
  if (tag === TAG_TRACEPARENT_PACKED) {
    const hex = readBytes(reader, PACKED_TRACEPARENT_BYTES).toString('hex');
    headers.traceparent = Buffer.from(`00-${hex.slice(0, 32)}-${hex.slice(32, 48)}-${hex.slice(48)}`);
    return;
  }
  let name: string | undefined;
  if (tag === TAG_LITERAL) name = readBytes(reader, readVarint(reader)).toString('utf8');
  else name = WELL_KNOWN[tag - 2];
  if (name === undefined) throw corrupt(`unknown header tag ${tag}`);
  // A copy: the record buffer stays referenced otherwise for as long as the header does.
  headers[name] = Buffer.from(readBytes(reader, readVarint(reader)));
}

/**
 * Reads a stored record. A reference to a catalogue topic this version does not know (written by
 * a newer replica) is UNKNOWN_TOPIC; anything else that does not parse is INTERNAL.
 */
export function decodeRecord(bytes: Buffer): DelayedRecord {
  const head = bytes[0];
  if (head === undefined || (head & 0xf0) !== VERSION) throw corrupt(`unknown format byte ${head}`);
  const reader: Reader = { buffer: bytes, offset: 1 };
  let topic: string;
  if (head & FLAG_TOPIC_REF) {
    const ref = readBytes(reader, 2).readUInt16BE(0);
    const name = catalogueTopicOf(ref);
    if (name === undefined) {
      throw new SchedulerError(
        'UNKNOWN_TOPIC',
        `delayed record names catalogue topic #${ref}, unknown here`,
        {
          details: { ref },
        },
      );
    }
    topic = name;
  } else {
    topic = readBytes(reader, readVarint(reader)).toString('utf8');
  }
  const key = head & FLAG_KEY ? readBytes(reader, readVarint(reader)).toString('utf8') : null;
  const headers: Record<string, Buffer> = {};
  if (head & FLAG_HEADERS) {
    const count = readVarint(reader);
    for (let i = 0; i < count; i += 1) readHeader(reader, headers);
  }
  return { topic, key, headers, payload: bytes.subarray(reader.offset) };
}
