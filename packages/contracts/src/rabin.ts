/**
 * CRC-64-AVRO, the Rabin fingerprint the Avro specification prescribes for single-object
 * encoding: computed over a schema's Parsing Canonical Form. Other languages' Avro libraries
 * (Java's SchemaNormalization.parsingFingerprint64, Python's fastavro, Go's hamba/avro) give the
 * same 64 bits, which is what lets them read our topics.
 */
const EMPTY = 0xc15d213aa4d7a795n;
const MASK_64 = 0xffffffffffffffffn;

const TABLE: bigint[] = Array.from({ length: 256 }, (_, i) => {
  let fp = BigInt(i);
  for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (fp & 1n ? EMPTY : 0n);
  return fp;
});

/** The 64-bit fingerprint of `bytes` as an unsigned bigint. */
export function rabinFingerprint64(bytes: Uint8Array): bigint {
  let fp = EMPTY;
  for (const byte of bytes) {
    fp = ((fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] ?? 0n)) & MASK_64;
  }
  return fp;
}

/** The fingerprint as the 8 little-endian bytes that single-object encoding writes. */
export function fingerprintBytes(canonicalSchema: string): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(rabinFingerprint64(Buffer.from(canonicalSchema, 'utf8')));
  return out;
}
