import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, AuthResult, LoginBody, LogoutBody, RefreshBody, RegisterBody, TokenPair } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import { z } from 'zod';
import type { Deps } from '../deps';
import { traceId } from '../auth/authenticate';
import { limitBy } from '../limits/limiter';
import * as auth from '../domain/auth.service';

const tags = ['auth'];
const COOKIE = 'chat_refresh';

/**
 * The refresh token as an httpOnly cookie, for browsers: scripts cannot read it, it is sent only to
 * the auth routes, and never cross-site (SameSite=Strict).
 */
function setRefreshCookie(ctx: Deps, reply: FastifyReply, token: string | null): void {
  const attrs = [
    'HttpOnly',
    'SameSite=Strict',
    'Path=/api/v1/auth',
    ...(ctx.config.NODE_ENV === 'production' ? ['Secure'] : []),
  ];
  const life = token ? ctx.config.REFRESH_TOKEN_TTL_DAYS * 86_400 : 0;
  reply.header('set-cookie', `${COOKIE}=${token ?? ''}; Max-Age=${life}; ${attrs.join('; ')}`);
}

function refreshTokenOf(req: FastifyRequest<{ Body: { refreshToken?: string } }>): string | null {
  if (req.body.refreshToken) return req.body.refreshToken;
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE && value.length) return value.join('=') || null;
  }
  return null;
}

export const authRoutes =
  (ctx: Deps): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();

    app.post(
      '/api/v1/auth/register',
      {
        schema: {
          tags,
          summary: 'Create an account and a session (rate limited per client address)',
          body: RegisterBody,
          response: { 201: AuthResult, ...errorResponses(400, 409, 413, 429) },
        },
        preHandler: limitBy(ctx.limits.register, (req) => req.ip),
      },
      async (req, reply) => {
        const res = await auth.register(ctx, req.body, traceId(req));
        setRefreshCookie(ctx, reply, res.refreshToken);
        return reply.status(201).send(res);
      },
    );

    app.post(
      '/api/v1/auth/login',
      {
        schema: {
          tags,
          summary:
            'Start a session. Unknown user and wrong password get the same 401; attempts are rate limited per username and per address',
          body: LoginBody,
          response: { 200: AuthResult, ...errorResponses(400, 401, 413, 429) },
        },
      },
      async (req, reply) => {
        const res = await auth.login(ctx, req.body, req.ip, reply);
        setRefreshCookie(ctx, reply, res.refreshToken);
        return res;
      },
    );

    app.post(
      '/api/v1/auth/refresh',
      {
        schema: {
          tags,
          summary:
            'Exchange a refresh token (body, or the httpOnly chat_refresh cookie) for a new pair. The old token stops working; replaying it ends the session',
          body: RefreshBody,
          response: { 200: TokenPair, ...errorResponses(400, 401, 413) },
        },
      },
      async (req, reply) => {
        const token = refreshTokenOf(req);
        if (!token) throw new AppError('UNAUTHENTICATED', 'no refresh token (body or cookie)');
        const res = await auth.refresh(ctx, token);
        setRefreshCookie(ctx, reply, res.refreshToken);
        return res;
      },
    );

    app.post(
      '/api/v1/auth/logout',
      {
        schema: {
          tags,
          summary: "End the refresh token's session",
          body: LogoutBody,
          response: { 204: z.null(), ...errorResponses(400, 413) },
        },
      },
      async (req, reply) => {
        const token = refreshTokenOf(req);
        if (token) await auth.logout(ctx, token);
        setRefreshCookie(ctx, reply, null);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/.well-known/jwks.json',
      {
        schema: {
          tags,
          summary: 'Public keys that verify access tokens (EdDSA)',
          response: { 200: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) },
        },
      },
      async (_req, reply) => {
        reply.header('cache-control', 'public, max-age=300');
        return ctx.keys.jwks as unknown as { keys: Array<Record<string, unknown>> };
      },
    );
  };
