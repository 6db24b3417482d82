import { z } from 'zod';

/** The coded error catalogue of the public API (API.md). */
export const ErrorCode = z.enum([
  'VALIDATION',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'UNAVAILABLE',
  'INTERNAL',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const errorStatus: Record<ErrorCode, number> = {
  VALIDATION: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export const ErrorBody = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    retryable: z.boolean(),
    retryAfterMs: z.number().int().nonnegative().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** A failure meant for the client: its message is safe to show. */
export class AppError extends Error {
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    opts: { retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'AppError';
    this.status = errorStatus[code];
    this.retryable = code === 'UNAVAILABLE' || code === 'RATE_LIMITED';
    this.retryAfterMs = opts.retryAfterMs;
  }

  toBody(): ErrorBody {
    return errorBody(this.code, this.message, this.retryAfterMs);
  }
}

export function errorBody(code: ErrorCode, message: string, retryAfterMs?: number): ErrorBody {
  const error: ErrorBody['error'] = {
    code,
    message,
    retryable: code === 'UNAVAILABLE' || code === 'RATE_LIMITED',
  };
  if (retryAfterMs !== undefined) error.retryAfterMs = retryAfterMs;
  return { error };
}

/** One line naming every problem of a failed parse, e.g. "body: Required; clientMsgId: Invalid uuid". */
export function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : 'value'}: ${i.message}`).join('; ');
}
