import { internalHeaders } from './internal-auth';

/**
 * A GET to another service's internal route, retried once on a connection error: a pooled keep-alive
 * connection the server closed just as it was reused fails at once, and the second attempt takes a
 * fresh connection. Timeouts are not retried.
 */
export async function internalGet(url: string | URL, timeoutMs: number): Promise<Response> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    return await fetch(url, { signal, headers: internalHeaders() });
  } catch (err) {
    if (signal.aborted) throw err;
    return fetch(url, { signal, headers: internalHeaders() });
  }
}

/** A JSON POST to another service's internal route, with a timeout. Not retried: it may not be idempotent. */
export function internalPost(url: string | URL, body: unknown, timeoutMs: number): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...internalHeaders() },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
}
