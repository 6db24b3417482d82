import { ApiError, toApiError } from '../chat/errors';
import { accessToken, refreshAccessToken } from '../auth/tokens';

let onSessionLost: () => void = () => undefined;
/** Called when a request finds the session over (refresh refused): the app goes to the login page. */
export function setSessionLostHandler(fn: () => void): void {
  onSessionLost = fn;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';

async function send(method: Method, path: string, body: unknown, token: string | null): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    return await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError('NETWORK', 'cannot reach the server', 0);
  }
}

/**
 * A call to the public API. Authenticated calls refresh the access token once on 401 and retry;
 * every failure is an ApiError carrying the contract's code.
 */
export async function request<T>(
  method: Method,
  path: string,
  body?: unknown,
  opts: { auth?: boolean } = {},
): Promise<T> {
  const auth = opts.auth ?? true;
  let token = auth ? (accessToken() ?? (await refreshAccessToken())) : null;
  if (auth && !token) {
    onSessionLost();
    throw new ApiError('UNAUTHENTICATED', 'not logged in', 401);
  }
  let res = await send(method, path, body, token);
  if (auth && res.status === 401) {
    token = await refreshAccessToken();
    if (!token) {
      onSessionLost();
      throw new ApiError('UNAUTHENTICATED', 'session expired', 401);
    }
    res = await send(method, path, body, token);
  }
  if (res.status === 204) return undefined as T;
  const data: unknown = await res.json().catch(() => null);
  if (!res.ok) throw toApiError(res.status, data);
  return data as T;
}
