/**
 * An in-memory sliding-window limiter: at most `max` hits per key within `windowMs`. Per process, so
 * N accounts instances allow N times the limit; good enough against online guessing, and the window
 * state disappears with the process by design.
 */
export interface RateLimiter {
  /** Records a hit; returns 0 when allowed, else how many ms until the next hit would be allowed. */
  hit: (key: string, now?: number) => number;
  size: () => number;
}

export function createRateLimiter(opts: { windowMs: number; max: number; maxKeys?: number }): RateLimiter {
  const hits = new Map<string, number[]>();
  const maxKeys = opts.maxKeys ?? 100_000;

  const prune = (list: number[], now: number) => {
    let i = 0;
    while (i < list.length && list[i]! <= now - opts.windowMs) i++;
    if (i) list.splice(0, i);
  };

  const sweep = (now: number) => {
    for (const [key, list] of hits) {
      prune(list, now);
      if (!list.length) hits.delete(key);
    }
  };

  return {
    hit: (key, now = Date.now()) => {
      let list = hits.get(key);
      if (!list) {
        // Bounded memory: sweep expired keys before growing past the cap.
        if (hits.size >= maxKeys) sweep(now);
        list = [];
        hits.set(key, list);
      }
      prune(list, now);
      if (list.length >= opts.max) return Math.max(1, list[0]! + opts.windowMs - now);
      list.push(now);
      return 0;
    },
    size: () => hits.size,
  };
}
