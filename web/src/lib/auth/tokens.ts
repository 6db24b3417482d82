/**
 * The ONE place that holds credentials (see README "Tokens"). The access token lives only in memory.
 * The refresh token is in localStorage because the public API hands it over in the response body;
 * an httpOnly cookie set by the edge would replace `readRefresh`/`writeRefresh` and nothing else.
 */
import { ApiError, toApiError } from '../chat/errors';

const REFRESH_KEY = 'chat.refreshToken';
let access: string | null = null;

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

function readRefresh(): string | null {
  try {
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function writeRefresh(token: string | null): void {
  try {
    if (token) localStorage.setItem(REFRESH_KEY, token);
    else localStorage.removeItem(REFRESH_KEY);
  } catch {
    /* storage disabled: the session lasts as long as the page */
  }
}

export const accessToken = (): string | null => access;
export const hasStoredSession = (): boolean => readRefresh() !== null;

export function storeTokens(pair: TokenPair): void {
  access = pair.accessToken;
  writeRefresh(pair.refreshToken);
}

export function clearTokens(): void {
  access = null;
  writeRefresh(null);
}

/** Takes the refresh token out for logout (the caller revokes it at the server). */
export function takeRefreshToken(): string | null {
  const t = readRefresh();
  clearTokens();
  return t;
}

let inflight: Promise<string | null> | null = null;

/**
 * A new access token from the stored refresh token, or null when the session is over. Refresh
 * tokens rotate and reusing a rotated one revokes the whole family, so all tabs refresh one at a
 * time (Web Locks) and each reads the token the previous one stored.
 */
export function refreshAccessToken(): Promise<string | null> {
  inflight ??= withLock(doRefresh).finally(() => {
    inflight = null;
  });
  return inflight;
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  return locks ? locks.request('chat-token-refresh', fn) : fn();
}

async function doRefresh(): Promise<string | null> {
  const refreshToken = readRefresh();
  if (!refreshToken) {
    access = null;
    return null;
  }
  let res: Response;
  try {
    res = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken }),
    });
  } catch {
    throw new ApiError('NETWORK', 'cannot reach the server', 0);
  }
  if (res.ok) {
    const pair = (await res.json()) as TokenPair;
    storeTokens(pair);
    return pair.accessToken;
  }
  const err = toApiError(res.status, await res.json().catch(() => null));
  // Rejected (expired, revoked, rotated away): the session is over. Anything else may pass.
  if (err.code === 'UNAUTHENTICATED' || err.code === 'VALIDATION') {
    // Another tab may have rotated it while we waited; its token is the one to keep.
    if (readRefresh() === refreshToken) clearTokens();
    return null;
  }
  throw err;
}

/** Another tab logged out (or in): follow it. */
export function onOtherTabChange(handler: (loggedIn: boolean) => void): () => void {
  const listener = (e: StorageEvent) => {
    if (e.key === REFRESH_KEY && (e.newValue === null) !== (e.oldValue === null)) handler(e.newValue !== null);
  };
  window.addEventListener('storage', listener);
  return () => window.removeEventListener('storage', listener);
}
