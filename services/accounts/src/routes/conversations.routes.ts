import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import {
  AddMemberBody,
  Conversation,
  ConversationList,
  DirectConversationBody,
  IdParams,
  MemberParams,
  MemberRole,
  RenameBody,
  RoomBody,
} from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import type { Verifier } from '@chat/auth';
import type { Deps } from '../deps';
import { authenticate, traceId, userId } from '../auth/authenticate';
import { limitBy } from '../limits/limiter';
import * as conversations from '../domain/conversations.service';

const tags = ['conversations'];
const security = [{ bearer: [] }];
const RoleBody = z.strictObject({ role: MemberRole });

/** Non-members get NOT_FOUND for every conversation route (the id's existence is not revealed). */
export const conversationsRoutes =
  (ctx: Deps, verify: Verifier): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    app.addHook('onRequest', authenticate(verify));

    app.get(
      '/api/v1/conversations',
      {
        schema: {
          tags,
          security,
          summary: 'Your conversations, most recent activity first',
          response: { 200: ConversationList, ...errorResponses(401) },
        },
      },
      async (req) => conversations.listConversations(ctx, userId(req)),
    );

    app.post(
      '/api/v1/conversations/direct',
      {
        schema: {
          tags,
          security,
          summary: 'The direct conversation with a friend (the same one every time)',
          body: DirectConversationBody,
          response: { 200: Conversation, ...errorResponses(400, 401, 403, 404, 413) },
        },
      },
      async (req) => conversations.openDirect(ctx, userId(req), req.body.userId, traceId(req)),
    );

    app.post(
      '/api/v1/conversations/rooms',
      {
        schema: {
          tags,
          security,
          summary: 'Create a room; you are its owner. Members must be your friends (invite anyone else)',
          body: RoomBody,
          response: { 201: Conversation, ...errorResponses(400, 401, 403, 404, 413, 429) },
        },
        preHandler: limitBy(ctx.limits.rooms, userId),
      },
      async (req, reply) =>
        reply
          .status(201)
          .send(await conversations.createRoom(ctx, userId(req), req.body.title, req.body.memberIds, traceId(req))),
    );

    app.get(
      '/api/v1/conversations/:id',
      {
        schema: {
          tags,
          security,
          summary: 'One of your conversations',
          params: IdParams,
          response: { 200: Conversation, ...errorResponses(400, 401, 404) },
        },
      },
      async (req) => conversations.getConversation(ctx, userId(req), req.params.id),
    );

    app.patch(
      '/api/v1/conversations/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Rename a room (owner or admin)',
          params: IdParams,
          body: RenameBody,
          response: { 200: Conversation, ...errorResponses(400, 401, 403, 404, 413) },
        },
      },
      async (req) => conversations.rename(ctx, userId(req), req.params.id, req.body.title, traceId(req)),
    );

    app.post(
      '/api/v1/conversations/:id/members',
      {
        schema: {
          tags,
          security,
          summary: 'Add a member to a room (owner or admin); 409 when already a member or the room is full',
          params: IdParams,
          body: AddMemberBody,
          response: { 200: Conversation, ...errorResponses(400, 401, 403, 404, 409, 413) },
        },
      },
      async (req) => conversations.addMember(ctx, userId(req), req.params.id, req.body.userId, traceId(req)),
    );

    app.delete(
      '/api/v1/conversations/:id/members/:userId',
      {
        schema: {
          tags,
          security,
          summary:
            'Leave (your own id) or remove a member (owner: anyone; admin: plain members). The last owner leaving hands ownership on',
          params: MemberParams,
          response: { 204: z.null(), ...errorResponses(400, 401, 403, 404) },
        },
      },
      async (req, reply) => {
        await conversations.removeMember(ctx, userId(req), req.params.id, req.params.userId, traceId(req));
        return reply.status(204).send(null);
      },
    );

    app.patch(
      '/api/v1/conversations/:id/members/:userId',
      {
        schema: {
          tags,
          security,
          summary: "Change a member's role (owners only); a room always keeps an owner",
          params: MemberParams,
          body: RoleBody,
          response: { 200: Conversation, ...errorResponses(400, 401, 403, 404, 409, 413) },
        },
      },
      async (req) =>
        conversations.setRole(ctx, userId(req), req.params.id, req.params.userId, req.body.role, traceId(req)),
    );
  };
