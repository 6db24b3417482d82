import { MessageId } from '@chat/contracts';
import { pooledPrng, createUlidFactory, ulidTime } from './message-ids';

describe('ulid', () => {
  it('makes 26-character Crockford base32 ids that the contract accepts as message ids', () => {
    const ulid = createUlidFactory();
    for (let i = 0; i < 1000; i++) {
      const id = ulid();
      expect(id).toHaveLength(26);
      expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(MessageId.safeParse(id).success).toBe(true);
    }
  });

  it('encodes the time first, so ids of later milliseconds sort later', () => {
    const t = Date.UTC(2025, 0, 1);
    expect(ulidTime(createUlidFactory()(t))).toBe(t);
    // Separate factories: one factory is monotonic whatever the times it is given.
    const early = createUlidFactory()(t);
    const late = createUlidFactory()(t + 1);
    expect(late > early).toBe(true);
    expect(createUlidFactory()(1).slice(0, 10)).toBe('0000000001');
    expect(createUlidFactory()(2 ** 48 - 1).slice(0, 10)).toBe('7ZZZZZZZZZ');
  });

  it('is strictly monotonic within one millisecond', () => {
    const ulid = createUlidFactory(() => 1_700_000_000_000);
    const ids = Array.from({ length: 10_000 }, () => ulid());
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('stays monotonic when the clock steps back', () => {
    let now = 1_700_000_000_500;
    const ulid = createUlidFactory(() => now);
    const a = ulid();
    now -= 400;
    const b = ulid();
    expect(b > a).toBe(true);
    expect(ulidTime(b)).toBe(ulidTime(a));
  });

  it('sorts ids as strings in the order they were made, across many milliseconds', () => {
    const ulid = createUlidFactory();
    const ids: string[] = [];
    let t = 1_700_000_000_000;
    for (let i = 0; i < 5000; i++) ids.push(ulid((t += i % 3 === 0 ? 1 : 0)));
    expect([...ids].sort()).toEqual(ids);
  });

  it('refuses a time it cannot encode', () => {
    const ulid = createUlidFactory();
    expect(() => ulid(-1)).toThrow(RangeError);
    expect(() => ulid(2 ** 48)).toThrow(RangeError);
  });

  it('draws its random part from a pooled CSPRNG: every value in [0, 1), the 32 characters evenly, ids unique', () => {
    const prng = pooledPrng(64); // small pool: refills many times
    const counts = new Array<number>(32).fill(0);
    for (let i = 0; i < 32_000; i++) {
      const x = prng();
      expect(x >= 0 && x < 1).toBe(true);
      counts[Math.floor(x * 32)]!++;
    }
    // 1,000 expected per character; a fair source stays far inside these bounds.
    for (const c of counts) expect(c > 800 && c < 1200).toBe(true);
    const ulid = createUlidFactory();
    const ids = new Set(Array.from({ length: 10_000 }, (_, i) => ulid(1_700_000_000_000 + i)));
    expect(ids.size).toBe(10_000);
  });
});
