import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import replyFrom from '@fastify/reply-from';
import { errorBody } from '@chat/contracts';

export interface ProxyOptions {
  accountsUrl: string;
  persistenceUrl: string;
}

/** `..`, `.` or backslash segments (raw or percent-encoded) could reach past `/api/v1` upstream. */
const UNSAFE_PATH = /(^|\/|%2f|\\|%5c)(\.|%2e){1,2}(\/|%2f|\\|%5c|\?|$)|\\|%5c/i;

/**
 * One upstream: its own reply-from (own connection pool) in an encapsulated context whose body parser
 * passes the raw stream through, so requests reach the owning service unchanged (it validates them).
 */
function upstream(name: string, base: string, paths: string[]) {
  return async (app: FastifyInstance) => {
    await app.register(replyFrom, { base, retryMethods: [], maxRetriesOn503: 0, disableRequestLogging: true });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    const forward = (req: FastifyRequest, reply: FastifyReply) => {
      if (UNSAFE_PATH.test(req.url.split('?')[0]!)) {
        return reply.status(404).send(errorBody('NOT_FOUND', 'no such route'));
      }
      return reply.from(req.url, {
        // The gateway is the edge: upstreams see the client's address (login rate limits are per
        // address), and a client-supplied X-Forwarded-For is replaced, not trusted.
        rewriteRequestHeaders: (_r, headers) => ({ ...headers, 'x-forwarded-for': req.ip }),
        onError: (r, { error }) => {
          req.log.warn({ err: error.message, upstream: name }, 'upstream unavailable');
          r.status(503).send(errorBody('UNAVAILABLE', `${name} is unavailable, try again`));
        },
      });
    };
    for (const url of paths) app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], url, schema: { hide: true }, handler: forward });
  };
}

/**
 * The public `/api/v1` surface, forwarded unchanged to the service that owns each route. Nothing else
 * is forwarded: `/internal/*` stays reachable only on the services' own ports.
 */
export async function proxyRoutes(app: FastifyInstance, opts: ProxyOptions): Promise<void> {
  await app.register(upstream('persistence', opts.persistenceUrl, ['/api/v1/conversations/:id/messages']));
  await app.register(upstream('accounts', opts.accountsUrl, ['/api/v1', '/api/v1/*']));
}
