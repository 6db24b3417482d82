import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
// @fastify/send rather than @fastify/static: the latter pulls an ESM-only dependency that jest (CJS) cannot load.
import send from '@fastify/send';
import { errorBody } from '@chat/contracts';

/** Paths that belong to the API, the services or well-known URIs: never answered with the web client. */
const NOT_WEB = /^\/(api|internal|socket\.io|\.well-known|metrics|docs|asyncapi)(\/|$)/;
/** A last segment with an extension names a file, not a page: a missing one is a 404, not the app. */
const FILE_LIKE = /\/[^/]*\.[A-Za-z0-9]{1,10}$/;

const NOT_BUILT = `<!doctype html><html><head><meta charset="utf-8"><title>chat</title></head><body>
<h1>The web client is not built</h1><p>Build it with <code>npm run build -w web</code>. The API (<code>/api/v1</code>) and the socket (<code>/socket.io</code>) work without it.</p>
</body></html>`;

async function sendFile(req: FastifyRequest, reply: FastifyReply, root: string, path: string, immutable: boolean) {
  const res = await send(req.raw, path, {
    root,
    dotfiles: 'deny',
    index: false,
    maxAge: immutable ? 31_536_000_000 : 0,
    immutable,
  });
  if (res.type === 'error') return null;
  reply.status(res.statusCode).headers(res.headers);
  if (!immutable) reply.header('cache-control', 'no-cache');
  return reply.send(res.stream);
}

/**
 * The web client's static build, with the SPA fallback: a GET for a path that is not a file gets
 * `index.html`, so client-side routes survive a reload. Traversal is refused by @fastify/send (root).
 */
export async function webRoutes(app: FastifyInstance, opts: { webDir: string }): Promise<void> {
  const root = resolve(opts.webDir);
  const built = existsSync(join(root, 'index.html'));

  app.get('/*', { schema: { hide: true } }, async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (NOT_WEB.test(path)) return reply.status(404).send(errorBody('NOT_FOUND', `no route GET ${path}`));
    if (!built) return reply.type('text/html; charset=utf-8').send(NOT_BUILT);
    if (path !== '/' && !path.endsWith('/')) {
      // SvelteKit's hashed assets never change; everything else is revalidated.
      const sent = await sendFile(req, reply, root, path, path.startsWith('/_app/immutable/'));
      if (sent) return sent;
      if (FILE_LIKE.test(path)) return reply.status(404).send(errorBody('NOT_FOUND', `no such file ${path}`));
    }
    return (
      (await sendFile(req, reply, root, '/index.html', false)) ??
      reply.status(404).send(errorBody('NOT_FOUND', 'no such file'))
    );
  });
}
