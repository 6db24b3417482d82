import { randomBytes } from 'node:crypto';

/** Crockford base32, the ULID alphabet: no I, L, O, U, so ids sort as plain strings. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_LEN = 10;
const RANDOM_LEN = 16;
const MAX_TIME = 2 ** 48 - 1;

export type UlidFactory = (now?: number) => string;

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < TIME_LEN; i++) {
    out = ALPHABET[ms % 32]! + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function randomDigits(): number[] {
  const bytes = randomBytes(RANDOM_LEN);
  const digits = new Array<number>(RANDOM_LEN);
  // The top digit keeps one bit clear, leaving 2^79 increments of headroom within one millisecond.
  for (let i = 0; i < RANDOM_LEN; i++) digits[i] = bytes[i]! & (i === 0 ? 15 : 31);
  return digits;
}

/** Adds one to a base32 digit array in place; false if it overflowed. */
function increment(digits: number[]): boolean {
  for (let i = digits.length - 1; i >= 0; i--) {
    if (digits[i]! < 31) {
      digits[i]!++;
      return true;
    }
    digits[i] = 0;
  }
  return false;
}

/**
 * A monotonic ULID generator: 48-bit millisecond time then 80 random bits, 26 characters. Within one
 * millisecond (or if the clock steps back) the random part is incremented, so every id this process
 * hands out sorts after the previous one: message ids follow acceptance order.
 */
export function createUlidFactory(clock: () => number = Date.now): UlidFactory {
  let lastTime = -1;
  let lastRandom: number[] = [];
  return (now = clock()) => {
    if (!Number.isInteger(now) || now < 0 || now > MAX_TIME) throw new RangeError(`ulid time out of range: ${now}`);
    if (now > lastTime) {
      lastTime = now;
      lastRandom = randomDigits();
    } else if (!increment(lastRandom)) {
      // 2^79 ids in one millisecond cannot happen, but stay monotonic if it did: borrow the next ms.
      lastTime += 1;
      lastRandom = randomDigits();
    }
    let out = encodeTime(lastTime);
    for (const d of lastRandom) out += ALPHABET[d];
    return out;
  };
}

/** The time part of a ULID, in ms since the epoch. */
export function ulidTime(id: string): number {
  let ms = 0;
  for (let i = 0; i < TIME_LEN; i++) ms = ms * 32 + ALPHABET.indexOf(id[i]!);
  return ms;
}
