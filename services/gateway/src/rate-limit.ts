import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Per-user limits on socket events, with rate-limiter-flexible's in-memory store: `ratePerSec`
 * sustained, plus a burst of `burst` more per burst window. Per gateway process on purpose: these
 * guard a per-event path that must not pay a database round trip, and a user's sockets stay on one
 * gateway (sticky sessions), so a user meets the limit once.
 */
export interface RateLimiter {
  /** Takes one point: 0 when allowed, otherwise how many ms until the next one is. */
  take(key: string): Promise<number>;
}

export function createRateLimiter(opts: { name: string; ratePerSec: number; burst: number }): RateLimiter {
  const burstWindowSec = Math.max(1, Math.ceil(opts.burst / opts.ratePerSec));
  const rl = new BurstyRateLimiter(
    new RateLimiterMemory({ keyPrefix: opts.name, points: opts.ratePerSec, duration: 1 }),
    new RateLimiterMemory({ keyPrefix: `${opts.name}-burst`, points: opts.burst, duration: burstWindowSec }),
  );
  return {
    async take(key) {
      try {
        await rl.consume(key);
        return 0;
      } catch (err) {
        if (err instanceof RateLimiterRes) return Math.max(1, err.msBeforeNext);
        throw err;
      }
    },
  };
}
