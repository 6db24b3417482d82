import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import replyFrom from '@fastify/reply-from';
import { errorBody, limits } from '@chat/contracts';

export interface ProxyOptions {
  accountsUrl: string;
  persistenceUrl: string;
}

/** `..`, `.` or backslash segments (raw or percent-encoded) could reach past `/api/v1` upstream. */
const UNSAFE_PATH = /(^|\/|%2f|\\|%5c)(\.|%2e){1,2}(\/|%2f|\\|%5c|\?|$)|\\|%5c/i;

/** A request target every part of which decodes; `%zz` would otherwise fail deep in the proxy. */
function decodes(url: string): boolean {
  try {
    decodeURIComponent(url);
    return true;
  } catch {
    return false;
  }
}

/**
 * One upstream: its own reply-from (own connection pool) in an encapsulated context. The body is
 * read whole, up to the contract's limit (over it: 413 here, before anything reaches the upstream),
 * and forwarded as the same bytes (as a stream: reply-from would re-encode a JSON value), so the owning service sees the request unchanged and validates it.
 */
function upstream(name: string, base: string, paths: string[]) {
  return async (app: FastifyInstance) => {
    await app.register(replyFrom, { base, retryMethods: [], maxRetriesOn503: 0, disableRequestLogging: true });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limits.bodyLimitBytes }, (_req, body, done) =>
      done(null, Readable.from([body])),
    );
    const forward = (req: FastifyRequest, reply: FastifyReply) => {
      if (!decodes(req.url))
        return reply.status(400).send(errorBody('VALIDATION', 'malformed percent-escape in the URL'));
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
    for (const url of paths)
      app.route({
        method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
        url,
        schema: { hide: true },
        handler: forward,
      });
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
