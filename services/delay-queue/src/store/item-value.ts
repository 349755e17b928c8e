/**
 * The header of an item value, read outside Lua (the admin API's read-only views). The forms are
 * described in lua/item.lua, which writes them; this is their only reader in TypeScript, so a new
 * form changes both files together.
 */
export interface StoredItem {
  dueAt: number;
  /** How often the item was claimed (0 while never dispatched). */
  attempts: number;
  /** The encoded DelayedRecord (record.ts). */
  record: Buffer;
}

const COMPACT_BYTES = 6;

/** An item value's due time, attempts and record, or undefined for a value in no known form. */
export function parseItemValue(value: Buffer): StoredItem | undefined {
  const first = value[0];
  if (first === undefined) return undefined;
  if (first >= 0x80) {
    if (value.length < COMPACT_BYTES) return undefined;
    // 6 bytes big-endian with the top bit set: the due time of a pending, never-claimed item.
    const dueAt = (first - 0x80) * 2 ** 40 + value.readUIntBE(1, COMPACT_BYTES - 1);
    return { dueAt, attempts: 0, record: value.subarray(COMPACT_BYTES) };
  }
  const newline = value.indexOf(0x0a);
  if (newline < 0) return undefined;
  const [due, attempts] = value.subarray(0, newline).toString('latin1').split('|');
  const dueAt = Number(due);
  const claimed = Number(attempts);
  if (!Number.isSafeInteger(dueAt) || !Number.isSafeInteger(claimed)) return undefined;
  return { dueAt, attempts: claimed, record: value.subarray(newline + 1) };
}
