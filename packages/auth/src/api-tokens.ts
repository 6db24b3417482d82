import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AppError, TokenIntrospection } from '@chat/contracts';
import type { AccessClaims, ApiTokenResolver } from './index';

const NEVER = 253402300799;

export interface RemoteApiTokensOptions {
  accountsUrl: string;
  timeoutMs?: number;
  /** How long an answer is reused: a revoked token is refused by other services within this time. */
  cacheMs?: number;
  maxEntries?: number;
  /** Headers for the internal call: the deployment's service credential (http-kit's `internalHeaders`). */
  headers?: () => Record<string, string>;
}

const digest = (token: string) => createHash('sha256').update(token).digest('base64url');

/**
 * API tokens are opaque and revocable, so services other than accounts ask it
 * (`POST /internal/v1/tokens/introspect`) and cache the answer briefly, keyed by the token's hash.
 */
export function remoteApiTokens(opts: RemoteApiTokensOptions): ApiTokenResolver {
  const ttl = opts.cacheMs ?? 30_000;
  // lru-cache reads ttl 0 as "for ever": 0 here means no cache at all.
  const cache = ttl > 0 ? new LRUCache<string, AccessClaims>({ max: opts.maxEntries ?? 10_000, ttl }) : null;
  return async (token) => {
    const key = digest(token);
    const hit = cache?.get(key);
    if (hit) return hit;
    let res: Response;
    try {
      res = await fetch(new URL('/internal/v1/tokens/introspect', opts.accountsUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...opts.headers?.() },
        body: JSON.stringify({ token }),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 3_000),
      });
    } catch (err) {
      throw new AppError('UNAVAILABLE', 'cannot verify API tokens right now', { cause: err });
    }
    if (res.status === 404) throw new AppError('UNAUTHENTICATED', 'invalid, expired or revoked API token');
    if (!res.ok) throw new AppError('UNAVAILABLE', 'cannot verify API tokens right now');
    const t = TokenIntrospection.parse(await res.json());
    const claims: AccessClaims = {
      userId: t.userId,
      username: t.username,
      scopes: t.scopes,
      tokenId: t.tokenId,
      expiresAt: t.expiresAt ? Math.floor(Date.parse(t.expiresAt) / 1000) : NEVER,
    };
    cache?.set(key, claims);
    return claims;
  };
}
