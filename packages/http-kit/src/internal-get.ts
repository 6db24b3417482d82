/**
 * A GET to another service's internal route, retried once on a connection error: a pooled keep-alive
 * connection the server closed just as it was reused fails at once, and the second attempt takes a
 * fresh connection. Timeouts are not retried.
 */
export async function internalGet(url: string | URL, timeoutMs: number): Promise<Response> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    return await fetch(url, { signal });
  } catch (err) {
    if (signal.aborted) throw err;
    return fetch(url, { signal });
  }
}
