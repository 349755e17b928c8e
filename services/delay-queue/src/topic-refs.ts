import { TOPICS } from '@openpenpal/contracts';

/**
 * Two-byte references to catalogue topics, so a stored record does not repeat a 30-odd-byte topic
 * name per pending item. A reference is a pure function of the name (FNV-1a, folded to 16 bits),
 * not a position in the catalogue, so it stays the same when topics are added. Two catalogue
 * topics sharing one would make records ambiguous, so loading this module fails then (the unit
 * tests load it, so CI catches a clash the day a topic is added). A replica that meets a reference
 * it does not know (a newer replica wrote it for a topic added since) leaves the item to a replica
 * that does.
 */
export function topicHash16(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(name, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return ((hash >>> 16) ^ (hash & 0xffff)) & 0xffff;
}

const byRef = new Map<number, string>();
const byName = new Map<string, number>();
for (const { name } of TOPICS) {
  const ref = topicHash16(name);
  const clash = byRef.get(ref);
  if (clash !== undefined) {
    throw new Error(`catalogue topics ${clash} and ${name} share the record reference ${ref}`);
  }
  byRef.set(ref, name);
  byName.set(name, ref);
}

/** The reference of a catalogue topic; undefined for any other name (stored literally). */
export function topicRefOf(name: string): number | undefined {
  return byName.get(name);
}

/** The catalogue topic a reference stands for, if this version knows it. */
export function catalogueTopicOf(ref: number): string | undefined {
  return byRef.get(ref);
}
