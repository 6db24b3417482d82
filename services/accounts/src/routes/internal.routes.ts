import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { AppError, IdParams, MemberRole } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import type { Deps } from '../deps';
import { createConversationsRepository } from '../repositories/conversations.repository';
import { createFriendsRepository } from '../repositories/friends.repository';
import { contactIds, contactIdsOf } from '../domain/contacts';
import { createE2eRepository } from '../repositories/e2e.repository';
import { createSessionsRepository } from '../repositories/sessions.repository';

const tags = ['internal'];

export const InternalConversation = z.object({
  id: z.uuid(),
  kind: z.enum(['direct', 'room']),
  title: z.string().nullable(),
  createdAt: z.string(),
  members: z.array(z.object({ userId: z.uuid(), role: MemberRole })),
  sendable: z.boolean(),
  /** End-to-end encrypted (docs/e2e.md): the gateway then refuses plaintext messages. */
  encrypted: z.boolean(),
});

/**
 * Service-to-service lookups (docs/internal-contracts.md). Served on the accounts port only; the
 * gateway never proxies /internal, so there is no user token here.
 */
export const internalRoutes =
  (ctx: Deps): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    const convs = createConversationsRepository(ctx.db);

    app.get(
      '/internal/v1/conversations/:id',
      {
        schema: {
          tags,
          summary: 'Members of a conversation and whether new messages are accepted',
          params: IdParams,
          response: { 200: InternalConversation, ...errorResponses(400, 404) },
        },
      },
      async (req) => {
        const c = await convs.withMembers(req.params.id);
        if (!c) throw new AppError('NOT_FOUND', 'conversation not found');
        let sendable = c.members.length > 0;
        if (c.conversation.kind === 'direct') {
          // Former friends keep their history but cannot add to it; a block ends it too.
          const friends = createFriendsRepository(ctx.db);
          const [a, b] = [c.conversation.directA!, c.conversation.directB!];
          sendable = (await friends.areFriends(a, b)) && !(await friends.blockedEitherWay(a, b));
        }
        return {
          id: c.conversation.id,
          kind: c.conversation.kind,
          title: c.conversation.title,
          createdAt: c.conversation.createdAt.toISOString(),
          members: c.members.map((m) => ({ userId: m.userId, role: m.role })),
          sendable,
          encrypted: (await createE2eRepository(ctx.db).findGroup(c.conversation.id)) !== null,
        };
      },
    );

    app.get(
      '/internal/v1/sessions/revoked',
      {
        schema: {
          tags,
          summary:
            'Sessions ended (logout, refresh-token reuse) whose access tokens may be unexpired: every service loads them at start-up',
          response: {
            200: z.object({ sessions: z.array(z.object({ sessionId: z.uuid(), until: z.string() })) }),
          },
        },
      },
      async () => ({ sessions: await revokedSessions(ctx) }),
    );

    app.get(
      '/internal/v1/users/:id/contacts',
      {
        schema: {
          tags,
          summary:
            'Friends and co-members (of conversations up to PRESENCE_FANOUT_MAX_ROOM members) of a user: presence fan-out',
          params: IdParams,
          response: { 200: z.object({ userIds: z.array(z.uuid()) }), ...errorResponses(400) },
        },
      },
      async (req) => ({ userIds: await contactIds(ctx.db, req.params.id, ctx.config.PRESENCE_FANOUT_MAX_ROOM) }),
    );

    app.post(
      '/internal/v1/contacts',
      {
        schema: {
          tags,
          summary: 'Contacts of many users at once (presence fan-out of a burst of changes)',
          body: z.strictObject({ userIds: z.array(z.uuid()).min(1).max(1000) }),
          response: { 200: z.object({ contacts: z.record(z.string(), z.array(z.uuid())) }), ...errorResponses(400) },
        },
      },
      async (req) => ({
        contacts: await contactIdsOf(ctx.db, [...new Set(req.body.userIds)], ctx.config.PRESENCE_FANOUT_MAX_ROOM),
      }),
    );

    app.get(
      '/internal/v1/users/:id/conversations',
      {
        schema: {
          tags,
          summary: "Ids of a user's conversations",
          params: IdParams,
          response: { 200: z.object({ conversationIds: z.array(z.uuid()) }), ...errorResponses(400) },
        },
      },
      async (req) => ({ conversationIds: await convs.idsForUser(req.params.id) }),
    );
  };

/** The sessions revoked within an access token's lifetime, with when their last access token expires. */
export async function revokedSessions(ctx: Pick<Deps, 'db' | 'config'>) {
  const ttlMs = ctx.config.ACCESS_TOKEN_TTL_SECONDS * 1000;
  const rows = await createSessionsRepository(ctx.db).revokedSince(new Date(Date.now() - ttlMs));
  return rows.map((r) => ({ sessionId: r.sessionId, until: new Date(r.revokedAt.getTime() + ttlMs).toISOString() }));
}
