/**
 * Awaits a condition instead of sleeping: polls `predicate` until it returns a truthy value. The default
 * timeout (15 s) is for a loaded CI machine, where one hop across the broker can take seconds.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  timeoutMs = 15_000,
  what = 'condition',
  everyMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// Loosely typed on purpose: typed Socket.IO sockets, EventEmitters and brokers all fit.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/** Resolves with the first emission of `event` (optionally one that matches), or rejects on timeout. */
export function nextEvent<T = unknown>(
  emitter: { on: (e: Loose, l: Loose) => unknown; off: (e: Loose, l: Loose) => unknown },
  event: string,
  match: (payload: T) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for event ${event}`));
    }, timeoutMs);
    const listener = (payload: T) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(payload);
    };
    emitter.on(event, listener);
  });
}
