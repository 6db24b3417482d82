import { createRateLimiter } from './rate-limit';

describe('rate limiter (token bucket)', () => {
  it('allows a burst, then refuses with the wait until the next token', () => {
    const rl = createRateLimiter({ ratePerSec: 10, burst: 5 });
    const t = 1_000_000;
    for (let i = 0; i < 5; i++) expect(rl.take('u', t)).toBe(0);
    expect(rl.take('u', t)).toBe(100);
    expect(rl.take('u', t + 50)).toBe(50);
    expect(rl.take('u', t + 100)).toBe(0);
  });

  it('keeps one bucket per key', () => {
    const rl = createRateLimiter({ ratePerSec: 1, burst: 1 });
    expect(rl.take('a', 0)).toBe(0);
    expect(rl.take('a', 0)).toBeGreaterThan(0);
    expect(rl.take('b', 0)).toBe(0);
  });

  it('refills to the burst, not beyond', () => {
    const rl = createRateLimiter({ ratePerSec: 100, burst: 3 });
    for (let i = 0; i < 3; i++) rl.take('u', 0);
    let allowed = 0;
    while (rl.take('u', 60_000) === 0) allowed++;
    expect(allowed).toBe(3);
  });

  it('forgets idle buckets', () => {
    const rl = createRateLimiter({ ratePerSec: 10, burst: 10 });
    rl.take('a', 0);
    rl.take('b', 0);
    expect(rl.size()).toBe(2);
    rl.take('c', 5_000);
    expect(rl.size()).toBe(1);
  });
});
