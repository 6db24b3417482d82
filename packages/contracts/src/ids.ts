import { z } from 'zod';

/**
 * Users, conversations, requests: UUIDs (opaque to clients). Lower-cased as parsed: one canonical form
 * at the edge, so caches and lookups never see the same id spelled two ways.
 */
export const Uuid = z.uuid().toLowerCase();

/**
 * Message ids: 26-character ULIDs assigned by the gateway that accepted the message. They sort as
 * strings in acceptance order (millisecond time first, then a per-process monotonic counter).
 */
export const MessageId = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'must be a message id');

/** Characters counted as Unicode code points, not UTF-16 units or bytes. */
export function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const encoder = new TextEncoder();
/** Size of a string as UTF-8 bytes. */
export function utf8Bytes(s: string): number {
  return encoder.encode(s).length;
}
