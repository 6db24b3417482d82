import { createRateLimiter } from './rate-limit';

describe('socket event limiter (rate-limiter-flexible, in memory)', () => {
  it('allows the sustained rate plus the burst, then refuses with the wait until the next point', async () => {
    const rl = createRateLimiter({ name: 't1', ratePerSec: 5, burst: 10 });
    const waits = await Promise.all(Array.from({ length: 20 }, () => rl.take('u')));
    expect(waits.filter((w) => w === 0)).toHaveLength(15);
    for (const w of waits.filter((w) => w > 0)) {
      expect(w).toBeGreaterThan(0);
      expect(w).toBeLessThanOrEqual(2_000);
    }
  });

  it('keeps one count per key', async () => {
    const rl = createRateLimiter({ name: 't2', ratePerSec: 1, burst: 1 });
    expect(await rl.take('a')).toBe(0);
    expect(await rl.take('a')).toBe(0);
    expect(await rl.take('a')).toBeGreaterThan(0);
    expect(await rl.take('b')).toBe(0);
  });
});
