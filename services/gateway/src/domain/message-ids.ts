import { decodeTime, monotonicFactory } from 'ulid';

export type UlidFactory = (now?: number) => string;

/**
 * Message ids: ULIDs (48-bit millisecond time, then 80 random bits; 26 Crockford base32 characters)
 * from `ulid`'s monotonic factory: within one millisecond, or if the clock steps back, the random part
 * is incremented, so every id this process hands out sorts after the previous one and message ids
 * follow acceptance order.
 */
export function createUlidFactory(clock: () => number = Date.now): UlidFactory {
  const next = monotonicFactory();
  return (now = clock()) => {
    if (!Number.isInteger(now) || now < 0 || now > 2 ** 48 - 1) throw new RangeError(`ulid time out of range: ${now}`);
    return next(now);
  };
}

/** The time part of a ULID, in ms since the epoch. */
export const ulidTime = (id: string): number => decodeTime(id);
