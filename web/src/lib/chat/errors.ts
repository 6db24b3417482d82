/** An error answered by the public API (its coded error body), or a network failure (`NETWORK`). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Reads a contract error body; anything else becomes a generic error of its status. */
export function toApiError(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; retryAfterMs?: unknown } } | null)?.error;
  if (e && typeof e.code === 'string') {
    return new ApiError(
      e.code,
      typeof e.message === 'string' ? e.message : e.code,
      status,
      typeof e.retryAfterMs === 'number' ? e.retryAfterMs : undefined,
    );
  }
  return new ApiError(status >= 500 ? 'UNAVAILABLE' : 'INTERNAL', `request failed (${status})`, status);
}

export type ErrorContext = 'login' | 'register' | 'friend-request' | 'send' | 'generic';

/** The sentence a user sees for a failure, worded for what they were doing. */
export function describeError(err: unknown, context: ErrorContext = 'generic'): string {
  if (!(err instanceof ApiError)) return 'Something went wrong. Please try again.';
  switch (err.code) {
    case 'NETWORK':
      return 'Cannot reach the server. Check your connection and try again.';
    case 'RATE_LIMITED': {
      const s = err.retryAfterMs ? Math.ceil(err.retryAfterMs / 1000) : null;
      return s
        ? `Too many attempts. Try again in ${s} second${s === 1 ? '' : 's'}.`
        : 'Too many attempts. Try again shortly.';
    }
    case 'UNAVAILABLE':
    case 'INTERNAL':
      return 'The service is unavailable right now. Please try again.';
    case 'UNAUTHENTICATED':
      return context === 'login' ? 'Wrong username or password.' : 'Your session has expired. Please log in again.';
    case 'CONFLICT':
      if (context === 'register') return 'That username is already taken.';
      return capitalise(err.message);
    case 'NOT_FOUND':
      return context === 'friend-request' ? 'No user with that username.' : capitalise(err.message);
    default:
      return capitalise(err.message);
  }
}

function capitalise(s: string): string {
  return s ? s[0]!.toUpperCase() + s.slice(1) : s;
}
