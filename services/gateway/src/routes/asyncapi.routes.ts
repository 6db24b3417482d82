import type { FastifyInstance } from 'fastify';
import { asyncApiJson } from '@chat/contracts';

/** The socket contract (AsyncAPI 3), the same text as docs/asyncapi.json, on the public origin. */
export async function asyncApiRoutes(app: FastifyInstance): Promise<void> {
  const body = asyncApiJson();
  app.get('/asyncapi.json', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('application/json; charset=utf-8').header('cache-control', 'public, max-age=300').send(body),
  );
}
