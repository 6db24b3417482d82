import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, errorBody, errorStatus, type ErrorCode } from '@chat/contracts';

/** Fastify's own error codes for bad input, mapped onto the contract's catalogue. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'VALIDATION',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION',
  FST_ERR_VALIDATION: 'VALIDATION',
};

/**
 * Postgres refusing a value for its content (U+0000, an unpaired surrogate, a string over its column):
 * input the edge should have refused. A safety net, so such input is a 400 and never a 500.
 */
const refusedValueCodes = new Set(['22021', '22P05', '22001']);
function isRefusedValue(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; cause?: unknown } | null, depth = 0;
    e && depth < 5;
    e = (e.cause as typeof e) ?? null, depth++
  ) {
    if (typeof e.code === 'string' && refusedValueCodes.has(e.code)) return true;
  }
  return false;
}

/** The one error handler of an HTTP service: 4xx carry their message, 5xx are masked and logged. */
export function installErrorHandler(app: FastifyInstance, isTransient: (err: unknown) => boolean = () => false): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof AppError) {
      if (err.status >= 500) req.log.warn({ err }, 'request failed');
      if (err.retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(err.retryAfterMs / 1000));
      return reply.status(err.status).send(err.toBody());
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const detail = err.validation
        .map(
          (v) =>
            `${v.instancePath.replace(/^\//, '').replace(/\//g, '.') || err.validationContext || 'value'}: ${v.message}`,
        )
        .join('; ');
      return reply
        .status(400)
        .send(errorBody('VALIDATION', `invalid ${err.validationContext ?? 'request'}: ${detail}`));
    }
    const mapped = err.code ? fastifyCodes[err.code] : undefined;
    if (mapped) return reply.status(errorStatus[mapped]).send(errorBody(mapped, err.message));
    if (err.statusCode === 429) {
      return reply.status(429).send(errorBody('RATE_LIMITED', 'too many requests', 1000));
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(400).send(errorBody('VALIDATION', err.message));
    }
    if (isRefusedValue(err)) {
      req.log.warn({ err }, 'the database refused a value the edge accepted');
      return reply
        .status(400)
        .send(errorBody('VALIDATION', 'a value cannot be stored (control or invalid characters, or too long)'));
    }
    if (isTransient(err)) {
      // A dependency (the database) is down or saturated: the client may retry; nothing is half-done.
      req.log.warn({ err: err.message }, 'dependency unavailable');
      return reply.status(503).send(errorBody('UNAVAILABLE', 'temporarily unavailable, try again'));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send(errorBody('INTERNAL', 'internal error'));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
  });
}
