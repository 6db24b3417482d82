import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { AppError, limits, PresenceList, PresenceQuery, User, UserSearchQuery } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import type { Verifier } from '@chat/auth';
import type { Deps } from '../deps';
import { authenticate, userId } from '../auth/authenticate';
import { createUsersRepository, toUser } from '../repositories/users.repository';
import { contactIds } from '../domain/contacts';
import { presenceOf } from '../presence/presence.view';

const tags = ['users'];
const security = [{ bearer: [] }];

export const usersRoutes =
  (ctx: Deps, verify: Verifier): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    app.addHook('onRequest', authenticate(verify));
    const users = createUsersRepository(ctx.db);

    app.get(
      '/api/v1/me',
      {
        schema: { tags, security, summary: 'Your user', response: { 200: User, ...errorResponses(401) } },
      },
      async (req) => {
        const row = await users.findById(userId(req));
        if (!row) throw new AppError('UNAUTHENTICATED', 'your account no longer exists');
        return toUser(row);
      },
    );

    app.get(
      '/api/v1/users',
      {
        schema: {
          tags,
          security,
          summary: `Up to ${limits.searchResults} users whose username contains q (case-insensitive, a leading @ ignored), those starting with it first`,
          querystring: UserSearchQuery,
          response: { 200: z.array(User), ...errorResponses(400, 401) },
        },
      },
      async (req) => (await users.search(req.query.q, limits.searchResults)).map(toUser),
    );

    app.get(
      '/api/v1/presence',
      {
        schema: {
          tags,
          security,
          summary: 'Presence of your friends and co-members among userIds (others are left out)',
          querystring: PresenceQuery,
          response: { 200: PresenceList, ...errorResponses(400, 401) },
        },
      },
      async (req) => {
        const visible = new Set(await contactIds(ctx.db, userId(req)));
        return presenceOf(
          ctx.db,
          [...new Set(req.query.userIds)].filter((id) => visible.has(id)),
        );
      },
    );
  };
