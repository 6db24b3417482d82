import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import {
  AppError,
  ApiToken,
  Bot,
  BotTokenParams,
  CreateBotBody,
  CreatedToken,
  CreateTokenBody,
  IdParams,
  TokenIntrospection,
} from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import type { AccessClaims, Verifier } from '@chat/auth';
import type { Deps as Ctx } from '../deps';
import { authenticate, traceId } from '../auth/authenticate';
import * as bots from '../domain/bots.service';

const tags = ['bots'];
const security = [{ bearer: [] }];
const claims = (req: { auth: AccessClaims | null }) => req.auth!;

/** Bot accounts owned by the caller and their API tokens (people only: a bot's token answers 403). */
export const botsRoutes =
  (ctx: Ctx, verify: Verifier): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    app.addHook('onRequest', authenticate(verify));

    app.post(
      '/api/v1/bots',
      {
        schema: {
          tags,
          security,
          summary: 'Create a bot account you own (it has no password; give it API tokens)',
          body: CreateBotBody,
          response: { 201: Bot, ...errorResponses(400, 401, 403, 409, 413) },
        },
      },
      async (req, reply) => reply.status(201).send(await bots.createBot(ctx, claims(req), req.body, traceId(req))),
    );

    app.get(
      '/api/v1/bots',
      {
        schema: { tags, security, summary: 'Your bots', response: { 200: z.array(Bot), ...errorResponses(401, 403) } },
      },
      async (req) => bots.listBots(ctx, claims(req)),
    );

    app.post(
      '/api/v1/bots/:id/tokens',
      {
        schema: {
          tags,
          security,
          summary:
            "Issue an API token for your bot. The secret is in this answer only; it is used as a bearer token and as the socket's auth.token",
          params: IdParams,
          body: CreateTokenBody,
          response: { 201: CreatedToken, ...errorResponses(400, 401, 403, 404, 409, 413) },
        },
      },
      async (req, reply) => reply.status(201).send(await bots.createToken(ctx, claims(req), req.params.id, req.body)),
    );

    app.get(
      '/api/v1/bots/:id/tokens',
      {
        schema: {
          tags,
          security,
          summary: "Your bot's live API tokens (never their secrets)",
          params: IdParams,
          response: { 200: z.array(ApiToken), ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (req) => bots.listTokens(ctx, claims(req), req.params.id),
    );

    app.delete(
      '/api/v1/bots/:id/tokens/:tokenId',
      {
        schema: {
          tags,
          security,
          summary:
            'Revoke an API token: HTTP refuses it at once on accounts, within 30 s elsewhere; its sockets are closed within a minute',
          params: BotTokenParams,
          response: { 204: z.null(), ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (req, reply) => {
        await bots.revokeToken(ctx, claims(req), req.params.id, req.params.tokenId);
        return reply.status(204).send(null);
      },
    );
  };

/** Service-to-service: what an API token stands for (the gateway and persistence cache the answer). */
export const tokenIntrospectionRoute =
  (ctx: Ctx): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/internal/v1/tokens/introspect',
      {
        schema: {
          tags: ['internal'],
          summary: "An API token's bot, scopes and expiry; 404 when unknown, revoked or expired",
          body: z.strictObject({ token: z.string().min(1).max(512) }),
          response: { 200: TokenIntrospection, ...errorResponses(400, 404) },
        },
      },
      async (req) => {
        try {
          const c = await bots.resolveApiToken(ctx, req.body.token);
          return {
            userId: c.userId,
            username: c.username,
            tokenId: c.tokenId!,
            scopes: c.scopes as Array<'read' | 'write'>,
            expiresAt: c.expiresAtIso,
          };
        } catch (err) {
          if (err instanceof AppError && err.code === 'UNAUTHENTICATED')
            throw new AppError('NOT_FOUND', 'no such live token');
          throw err;
        }
      },
    );
  };
