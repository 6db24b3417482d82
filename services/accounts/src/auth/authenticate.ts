import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from '@chat/contracts';
import { bearerToken, requireScopeForMethod, type AccessClaims, type Verifier } from '@chat/auth';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `authenticate` hook on every authenticated route. */
    auth: AccessClaims | null;
  }
}

/** An onRequest hook: verifies the bearer token before the body is even read. */
export const authenticate = (verify: Verifier) => async (req: FastifyRequest) => {
  const token = bearerToken(req.headers.authorization);
  if (!token) throw new AppError('UNAUTHENTICATED', 'missing bearer token');
  req.auth = await verify(token);
  requireScopeForMethod(req.auth, req.method);
};

/** The caller's id on a route behind `authenticate`. */
export function userId(req: FastifyRequest): string {
  if (!req.auth) throw new AppError('UNAUTHENTICATED', 'missing bearer token');
  return req.auth.userId;
}

/** The trace id carried into published events: the caller's `x-trace-id` when sane, else a new one. */
export function traceId(req: FastifyRequest): string {
  const h = req.headers['x-trace-id'];
  return typeof h === 'string' && /^[\w.:-]{1,64}$/.test(h) ? h : randomUUID();
}
