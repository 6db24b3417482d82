import { randomFillSync } from 'node:crypto';
import { decodeTime, monotonicFactory, type PRNG } from 'ulid';

export type UlidFactory = (now?: number) => string;

/**
 * Message ids: ULIDs (48-bit millisecond time, then 80 random bits; 26 Crockford base32 characters)
 * from `ulid`'s monotonic factory: within one millisecond, or if the clock steps back, the random part
 * is incremented, so every id this process hands out sorts after the previous one and message ids
 * follow acceptance order.
 */
export function createUlidFactory(clock: () => number = Date.now): UlidFactory {
  const next = monotonicFactory(pooledPrng());
  return (now = clock()) => {
    if (!Number.isInteger(now) || now < 0 || now > 2 ** 48 - 1) throw new RangeError(`ulid time out of range: ${now}`);
    return next(now);
  };
}

/**
 * The random characters come from the operating system's CSPRNG like `ulid`'s default, but drawn from a
 * pool refilled 4 KiB at a time: the default asks `crypto` for one byte per character (16 calls per
 * id), which was the gateway's largest cost per accepted message after the socket writes.
 */
export function pooledPrng(size = 4096): PRNG {
  const pool = new Uint8Array(size);
  let at = size;
  return () => {
    if (at === size) {
      randomFillSync(pool);
      at = 0;
    }
    // A byte / 256 is in [0, 1); ulid takes floor(x * 32): the byte's top 5 bits, uniform.
    return pool[at++]! / 256;
  };
}

/** The time part of a ULID, in ms since the epoch. */
export const ulidTime = (id: string): number => decodeTime(id);
