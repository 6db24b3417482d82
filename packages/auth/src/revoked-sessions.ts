import { LRUCache } from 'lru-cache';
import { AppError, RevokedSessionsList } from '@chat/contracts';
import type { Verifier } from './index';

/** When an event does not say until when a session's access tokens live: longer than any access token. */
export const DEFAULT_REVOCATION_MS = 24 * 60 * 60 * 1000;

/**
 * The sessions (refresh-token families) that ended while some of their access tokens may still be
 * unexpired: logout and refresh-token reuse. Access tokens are verified without asking accounts, so
 * every service that authenticates keeps this set, fed by the `session.revoked` event on a queue of its
 * own and loaded from accounts at start-up, and refuses a token whose `sid` is in it. Bounded: an entry
 * goes when the tokens it names would have expired anyway (and, past `max`, the oldest first).
 */
export class RevokedSessions {
  private readonly cache: LRUCache<string, true>;

  constructor(max = 200_000) {
    this.cache = new LRUCache<string, true>({ max, ttlAutopurge: false, ttl: DEFAULT_REVOCATION_MS });
  }

  /** `untilMs`: when the last access token of the session expires (epoch ms). Later additions extend it. */
  add(sessionId: string, untilMs = Date.now() + DEFAULT_REVOCATION_MS): void {
    const id = sessionId.toLowerCase();
    const ttl = untilMs - Date.now();
    if (ttl <= 0 || this.cache.getRemainingTTL(id) >= ttl) return;
    this.cache.set(id, true, { ttl });
  }

  has(sessionId: string): boolean {
    return this.cache.has(sessionId.toLowerCase());
  }

  get size(): number {
    this.cache.purgeStale();
    return this.cache.size;
  }
}

/** A verifier that also refuses the access tokens of a revoked session (401 UNAUTHENTICATED). */
export function withRevocations(verify: Verifier, revoked: RevokedSessions): Verifier {
  return async (token) => {
    const claims = await verify(token);
    if (claims.sessionId && revoked.has(claims.sessionId))
      throw new AppError('UNAUTHENTICATED', 'this session has ended (logged out or revoked): log in again');
    return claims;
  };
}

export interface RevocationLoaderOptions {
  /** Accounts' base URL: `GET /internal/v1/sessions/revoked`. */
  accountsUrl: string;
  /** Headers for the internal call: the deployment's service credential (http-kit's `internalHeaders`). */
  headers?: () => Record<string, string>;
  timeoutMs?: number;
  /** Delay before the next attempt after a failure (doubling up to 30 s). */
  retryMs?: number;
  onError?: (err: unknown) => void;
}

/** One load of the sessions accounts revoked within an access token's lifetime; resolves with how many. */
export async function loadRevokedSessions(revoked: RevokedSessions, opts: RevocationLoaderOptions): Promise<number> {
  const res = await fetch(new URL('/internal/v1/sessions/revoked', opts.accountsUrl), {
    headers: { ...opts.headers?.() },
    signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000),
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new AppError('UNAVAILABLE', `accounts answered ${res.status} for the revoked sessions`);
  }
  const list = RevokedSessionsList.parse(await res.json());
  for (const s of list.sessions) revoked.add(s.sessionId, Date.parse(s.until));
  return list.sessions.length;
}

/**
 * Loads the revoked sessions at start-up, retrying in the background until accounts answers (a service
 * restarted while accounts is down learns them as soon as it is back; the events it receives meanwhile
 * count already). Returns a function that stops retrying.
 */
export function keepLoadingRevokedSessions(revoked: RevokedSessions, opts: RevocationLoaderOptions): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let delay = opts.retryMs ?? 1_000;
  const attempt = () => {
    loadRevokedSessions(revoked, opts).then(
      () => undefined,
      (err: unknown) => {
        if (stopped) return;
        opts.onError?.(err);
        timer = setTimeout(attempt, delay);
        timer.unref();
        delay = Math.min(delay * 2, 30_000);
      },
    );
  };
  attempt();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
