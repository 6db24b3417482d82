import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import {
  BlockBody,
  Friend,
  FriendRequestBody,
  FriendRequests,
  IdParams,
  OutgoingRequest,
  User,
  UserIdParams,
} from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import type { Verifier } from '@chat/auth';
import type { Deps } from '../deps';
import { authenticate, traceId, userId } from '../auth/authenticate';
import { limitBy } from '../limits/limiter';
import * as friends from '../domain/friends.service';

const tags = ['friends'];
const security = [{ bearer: [] }];
/** The contract's Friend plus the pair's direct conversation. */
const FriendWithConversation = Friend.extend({ conversationId: z.uuid().nullable() });
const NoContent = { 204: z.null() };

export const friendsRoutes =
  (ctx: Deps, verify: Verifier): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    app.addHook('onRequest', authenticate(verify));

    app.get(
      '/api/v1/friends',
      {
        schema: {
          tags,
          security,
          summary: 'Your friends',
          response: { 200: z.array(FriendWithConversation), ...errorResponses(401) },
        },
      },
      async (req) => friends.listFriends(ctx, userId(req)),
    );

    app.get(
      '/api/v1/friends/requests',
      {
        schema: {
          tags,
          security,
          summary: 'Pending friend requests, both ways',
          response: { 200: FriendRequests, ...errorResponses(401) },
        },
      },
      async (req) => friends.listRequests(ctx, userId(req)),
    );

    app.post(
      '/api/v1/friends/requests',
      {
        schema: {
          tags,
          security,
          summary:
            'Ask a user to be friends: 201 with the request, or 200 with the new friend when they had already asked you',
          body: FriendRequestBody,
          response: {
            200: FriendWithConversation,
            201: OutgoingRequest,
            ...errorResponses(400, 401, 403, 404, 409, 413, 429),
          },
        },
        preHandler: limitBy(ctx.limits.friendRequests, userId),
      },
      async (req, reply) => {
        const res = await friends.sendRequest(ctx, userId(req), req.body.username, traceId(req));
        return res.kind === 'friends' ? reply.status(200).send(res.friend) : reply.status(201).send(res.request);
      },
    );

    app.post(
      '/api/v1/friends/requests/:id/accept',
      {
        schema: {
          tags,
          security,
          summary: 'Accept a request: you become friends and your direct conversation exists',
          params: IdParams,
          response: { 200: FriendWithConversation, ...errorResponses(400, 401, 404) },
        },
      },
      async (req) => friends.acceptRequest(ctx, userId(req), req.params.id, traceId(req)),
    );

    app.post(
      '/api/v1/friends/requests/:id/decline',
      {
        schema: {
          tags,
          security,
          summary: 'Decline a request made to you',
          params: IdParams,
          response: { ...NoContent, ...errorResponses(400, 401, 404) },
        },
      },
      async (req, reply) => {
        await friends.dropRequest(ctx, userId(req), req.params.id, 'recipient', traceId(req));
        return reply.status(204).send(null);
      },
    );

    app.delete(
      '/api/v1/friends/requests/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Cancel a request you made',
          params: IdParams,
          response: { ...NoContent, ...errorResponses(400, 401, 404) },
        },
      },
      async (req, reply) => {
        await friends.dropRequest(ctx, userId(req), req.params.id, 'sender', traceId(req));
        return reply.status(204).send(null);
      },
    );

    app.delete(
      '/api/v1/friends/:userId',
      {
        schema: {
          tags,
          security,
          summary: 'Unfriend: the direct conversation stays readable, new messages are refused',
          params: UserIdParams,
          response: { ...NoContent, ...errorResponses(400, 401, 404) },
        },
      },
      async (req, reply) => {
        await friends.unfriend(ctx, userId(req), req.params.userId, traceId(req));
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/api/v1/blocks',
      {
        schema: {
          tags,
          security,
          summary: 'Users you blocked',
          response: { 200: z.array(z.object({ user: User, createdAt: z.string() })), ...errorResponses(401) },
        },
      },
      async (req) => friends.listBlocks(ctx, userId(req)),
    );

    app.post(
      '/api/v1/blocks',
      {
        schema: {
          tags,
          security,
          summary: 'Block a user: ends your friendship and pending requests; they can no longer ask you or message you',
          body: BlockBody,
          response: { ...NoContent, ...errorResponses(400, 401, 404, 413) },
        },
      },
      async (req, reply) => {
        await friends.block(ctx, userId(req), req.body.userId, traceId(req));
        return reply.status(204).send(null);
      },
    );

    app.delete(
      '/api/v1/blocks/:userId',
      {
        schema: {
          tags,
          security,
          summary: 'Unblock a user',
          params: UserIdParams,
          response: { ...NoContent, ...errorResponses(400, 401, 404) },
        },
      },
      async (req, reply) => {
        await friends.unblock(ctx, userId(req), req.params.userId);
        return reply.status(204).send(null);
      },
    );
  };
