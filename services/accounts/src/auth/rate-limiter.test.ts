import { createRateLimiter } from './rate-limiter';

describe('sliding-window rate limiter', () => {
  it('allows max hits per window and says when the next one is allowed', () => {
    const rl = createRateLimiter({ windowMs: 1_000, max: 2 });
    expect(rl.hit('a', 0)).toBe(0);
    expect(rl.hit('a', 400)).toBe(0);
    expect(rl.hit('a', 500)).toBe(500);
    expect(rl.hit('b', 500)).toBe(0);
    // The first hit slid out of the window at 1000.
    expect(rl.hit('a', 1_000)).toBe(0);
    expect(rl.hit('a', 1_100)).toBe(300);
  });

  it('refused hits do not extend the window', () => {
    const rl = createRateLimiter({ windowMs: 100, max: 1 });
    expect(rl.hit('k', 0)).toBe(0);
    for (let t = 10; t < 100; t += 10) expect(rl.hit('k', t)).toBeGreaterThan(0);
    expect(rl.hit('k', 100)).toBe(0);
  });

  it('forgets expired keys instead of growing without bound', () => {
    const rl = createRateLimiter({ windowMs: 10, max: 1, maxKeys: 3 });
    for (let i = 0; i < 3; i++) rl.hit(`k${i}`, 0);
    rl.hit('late', 50);
    expect(rl.size()).toBe(1);
  });
});
