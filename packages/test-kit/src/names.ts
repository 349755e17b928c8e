import { randomBytes } from 'node:crypto';

/** A name no other test uses: `prefix-<12 hex>`; safe for topics, groups, keys and schemas. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}
