import type { FastifyRequest } from 'fastify';
import { AppError } from '@chat/contracts';
import { bearerToken, requireScopeForMethod, type Verifier } from '@chat/auth';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, set by the `authenticate` hook. */
    userId: string;
  }
}

/** An onRequest hook: it runs before validation, so a caller without a valid token learns nothing else. */
export function authenticate(verify: Verifier) {
  return async (req: FastifyRequest): Promise<void> => {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new AppError('UNAUTHENTICATED', 'missing bearer access token');
    const claims = await verify(token);
    requireScopeForMethod(claims, req.method);
    req.userId = claims.userId;
  };
}
