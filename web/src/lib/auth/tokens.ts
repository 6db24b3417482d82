/**
 * The ONE place that holds credentials (see README "Tokens"). The access token lives only in memory.
 * The refresh token never reaches page scripts' storage: the server keeps it in an HttpOnly cookie
 * (`chat_refresh`, `SameSite=Strict; Path=/api/v1/auth`) that it sets on register, login and refresh
 * and that refresh and logout read when the body leaves the token out. What localStorage holds is a
 * non-secret marker, "this browser has a session", so a reload knows whether to try a refresh and
 * other tabs follow a login or logout.
 */
import { ApiError, toApiError } from '../chat/errors';

const SIGNED_IN_KEY = 'chat.signedIn';
/** Where earlier versions kept the refresh token itself: read once to move the session to the cookie. */
const LEGACY_REFRESH_KEY = 'chat.refreshToken';
let access: string | null = null;

export interface TokenPair {
  accessToken: string;
}

function storage(): Storage | null {
  try {
    return localStorage;
  } catch {
    return null;
  }
}

function markSignedIn(on: boolean): void {
  try {
    if (on) storage()?.setItem(SIGNED_IN_KEY, '1');
    else storage()?.removeItem(SIGNED_IN_KEY);
  } catch {
    /* storage disabled: the session lasts as long as the page */
  }
}

/** The refresh token an earlier version left in localStorage, taken out (never stored again). */
function takeLegacyRefresh(): string | null {
  try {
    const s = storage();
    const t = s?.getItem(LEGACY_REFRESH_KEY) ?? null;
    if (t !== null) s?.removeItem(LEGACY_REFRESH_KEY);
    return t;
  } catch {
    return null;
  }
}

export const accessToken = (): string | null => access;
export const hasStoredSession = (): boolean =>
  storage()?.getItem(SIGNED_IN_KEY) !== null || storage()?.getItem(LEGACY_REFRESH_KEY) != null;

/** After register, login or refresh: the access token in memory; the refresh token stays in its cookie. */
export function storeTokens(pair: TokenPair): void {
  access = pair.accessToken;
  markSignedIn(true);
}

export function clearTokens(): void {
  access = null;
  markSignedIn(false);
}

let inflight: Promise<string | null> | null = null;

/**
 * A new access token from the refresh cookie, or null when the session is over. Refresh tokens
 * rotate and reusing a rotated one revokes the whole family, so all tabs refresh one at a time (Web
 * Locks): each sends the cookie the previous one got.
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
  if (!hasStoredSession()) {
    access = null;
    return null;
  }
  const legacy = takeLegacyRefresh();
  let res: Response;
  try {
    res = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(legacy ? { refreshToken: legacy } : {}),
    });
  } catch {
    throw new ApiError('NETWORK', 'cannot reach the server', 0);
  }
  if (res.ok) {
    const pair = (await res.json()) as TokenPair;
    storeTokens({ accessToken: pair.accessToken });
    return pair.accessToken;
  }
  const err = toApiError(res.status, await res.json().catch(() => null));
  // Rejected (expired, revoked, no cookie): the session is over. Anything else may pass.
  if (err.code === 'UNAUTHENTICATED' || err.code === 'VALIDATION') {
    clearTokens();
    return null;
  }
  throw err;
}

/** Ends the session at the server (it revokes the cookie's session and clears the cookie). */
export async function endSession(): Promise<void> {
  clearTokens();
  takeLegacyRefresh();
  await fetch('/api/v1/auth/logout', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    credentials: 'same-origin',
    body: '{}',
  }).catch(() => undefined);
}

/** Another tab logged out (or in): follow it. */
export function onOtherTabChange(handler: (loggedIn: boolean) => void): () => void {
  const listener = (e: StorageEvent) => {
    if (e.key === SIGNED_IN_KEY && (e.newValue === null) !== (e.oldValue === null)) handler(e.newValue !== null);
  };
  window.addEventListener('storage', listener);
  return () => window.removeEventListener('storage', listener);
}
