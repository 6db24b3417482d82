/**
 * Per-key token buckets (one per user): `ratePerSec` tokens refill continuously up to `burst`.
 * Idle buckets are swept so memory follows active senders, not every user ever seen.
 */
export interface RateLimiter {
  /** Takes one token: 0 when allowed, otherwise how many ms until one is available. */
  take(key: string, now?: number): number;
  size(): number;
}

export function createRateLimiter(opts: { ratePerSec: number; burst: number; clock?: () => number }): RateLimiter {
  const clock = opts.clock ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const perMs = opts.ratePerSec / 1000;
  // A bucket full again is indistinguishable from a new one: drop it.
  const fullAfterMs = Math.ceil(opts.burst / perMs);
  let lastSweep = -Infinity;

  const sweep = (now: number) => {
    if (now - lastSweep < fullAfterMs) return;
    lastSweep = now;
    for (const [k, b] of buckets) if (now - b.at >= fullAfterMs) buckets.delete(k);
  };

  return {
    take(key, now = clock()) {
      sweep(now);
      let b = buckets.get(key);
      if (!b) {
        b = { tokens: opts.burst, at: now };
        buckets.set(key, b);
      } else {
        b.tokens = Math.min(opts.burst, b.tokens + (now - b.at) * perMs);
        b.at = now;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / perMs));
    },
    size: () => buckets.size,
  };
}
