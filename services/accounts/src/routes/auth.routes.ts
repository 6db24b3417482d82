import type { FastifyPluginAsync } from 'fastify';
import { AuthResult, LoginBody, LogoutBody, RefreshBody, RegisterBody, TokenPair } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import { z } from 'zod';
import type { Deps } from '../deps';
import { traceId } from '../auth/authenticate';
import * as auth from '../domain/auth.service';

const tags = ['auth'];

export const authRoutes = (ctx: Deps): FastifyPluginAsync => async (root) => {
  const app = root.withTypeProvider<ZodTypeProvider>();

  app.post('/api/v1/auth/register', {
    schema: { tags, summary: 'Create an account and a session', body: RegisterBody, response: { 201: AuthResult, ...errorResponses(400, 409, 413) } },
  }, async (req, reply) => reply.status(201).send(await auth.register(ctx, req.body, traceId(req))));

  app.post('/api/v1/auth/login', {
    schema: {
      tags,
      summary: 'Start a session. Unknown user and wrong password get the same 401; attempts are rate limited per username and per address',
      body: LoginBody,
      response: { 200: AuthResult, ...errorResponses(400, 401, 413, 429) },
    },
  }, async (req) => auth.login(ctx, req.body, req.ip));

  app.post('/api/v1/auth/refresh', {
    schema: {
      tags,
      summary: 'Exchange a refresh token for a new pair. The old token stops working; replaying it ends the session',
      body: RefreshBody,
      response: { 200: TokenPair, ...errorResponses(400, 401, 413) },
    },
  }, async (req) => auth.refresh(ctx, req.body.refreshToken));

  app.post('/api/v1/auth/logout', {
    schema: { tags, summary: "End the refresh token's session", body: LogoutBody, response: { 204: z.null(), ...errorResponses(400, 413) } },
  }, async (req, reply) => {
    await auth.logout(ctx, req.body.refreshToken);
    return reply.status(204).send(null);
  });

  app.get('/.well-known/jwks.json', {
    schema: { tags, summary: 'Public keys that verify access tokens (EdDSA)', response: { 200: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) } },
  }, async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return ctx.keys.jwks as unknown as { keys: Array<Record<string, unknown>> };
  });
};
