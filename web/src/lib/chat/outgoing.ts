/** Bounds on how long sends are held after the server's rate limit refused one (it says how long). */
export const HOLD_MIN_MS = 100;
export const HOLD_MAX_MS = 60_000;

/** How long sends wait after a `RATE_LIMITED` answer: the server's `retryAfterMs`, bounded (1 s if it said nothing). */
export function holdDelay(retryAfterMs: number | undefined): number {
  return Math.min(HOLD_MAX_MS, Math.max(HOLD_MIN_MS, retryAfterMs ?? 1000));
}
