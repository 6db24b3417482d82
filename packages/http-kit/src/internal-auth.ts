import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { errorBody } from '@chat/contracts';

/**
 * The service credential of `/internal/*` routes: a shared secret (`INTERNAL_TOKEN`) every service of
 * a deployment is given. Servers refuse internal routes without it; `internalGet`/`internalPost` send
 * it. One per process: a process runs one service (tests run several with none, or the same one).
 */
let processToken: string | undefined;

export function useInternalToken(token: string | undefined): void {
  processToken = token;
}

export function internalHeaders(): Record<string, string> {
  return processToken ? { authorization: `Bearer ${processToken}` } : {};
}

function matches(header: string | undefined, token: string): boolean {
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!m) return false;
  const [a, b] = [Buffer.from(m[1]!), Buffer.from(token)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * An onRequest hook: an `/internal/*` route answers 401 without `Authorization: Bearer <token>`. By
 * matched route, so a service without internal routes (the public origin) keeps answering 404.
 */
export function requireInternalToken(app: FastifyInstance, token: string): void {
  app.addHook('onRequest', async (req, reply) => {
    if (!req.routeOptions.url?.startsWith('/internal/')) return;
    if (!matches(req.headers.authorization, token)) {
      return reply.status(401).send(errorBody('UNAUTHENTICATED', 'internal routes need the service credential'));
    }
  });
}
