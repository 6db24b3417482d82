import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { Conversation, IdParams, Invitation, InvitationList, InviteBody } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import type { Verifier } from '@chat/auth';
import type { Deps } from '../deps';
import { authenticate, traceId, userId } from '../auth/authenticate';
import { limitBy } from '../limits/limiter';
import * as invitations from '../domain/invitations.service';

const tags = ['invitations'];
const security = [{ bearer: [] }];
const NoContent = { 204: z.null() };

/** Room invitations: joining a room takes the invitee's consent (friends may be added directly). */
export const invitationsRoutes =
  (ctx: Deps, verify: Verifier): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    app.addHook('onRequest', authenticate(verify));

    app.post(
      '/api/v1/conversations/:id/invitations',
      {
        schema: {
          tags,
          security,
          summary: 'Invite a user to a room (owner or admin); they join when they accept',
          params: IdParams,
          body: InviteBody,
          response: { 201: Invitation, ...errorResponses(400, 401, 403, 404, 409, 413, 429) },
        },
        preHandler: limitBy(ctx.limits.invitations, userId),
      },
      async (req, reply) =>
        reply
          .status(201)
          .send(await invitations.invite(ctx, userId(req), req.params.id, req.body.userId, traceId(req))),
    );

    app.get(
      '/api/v1/invitations',
      {
        schema: {
          tags,
          security,
          summary: 'Pending room invitations, to you and from you',
          response: { 200: InvitationList, ...errorResponses(401) },
        },
      },
      async (req) => invitations.listInvitations(ctx, userId(req)),
    );

    app.post(
      '/api/v1/invitations/:id/accept',
      {
        schema: {
          tags,
          security,
          summary: 'Accept an invitation made to you: you join the room',
          params: IdParams,
          response: { 200: Conversation, ...errorResponses(400, 401, 403, 404, 409) },
        },
      },
      async (req) => invitations.accept(ctx, userId(req), req.params.id, traceId(req)),
    );

    app.post(
      '/api/v1/invitations/:id/decline',
      {
        schema: {
          tags,
          security,
          summary: 'Decline an invitation made to you',
          params: IdParams,
          response: { ...NoContent, ...errorResponses(400, 401, 404) },
        },
      },
      async (req, reply) => {
        await invitations.drop(ctx, userId(req), req.params.id, 'invitee', traceId(req));
        return reply.status(204).send(null);
      },
    );

    app.delete(
      '/api/v1/invitations/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Cancel an invitation you made',
          params: IdParams,
          response: { ...NoContent, ...errorResponses(400, 401, 404) },
        },
      },
      async (req, reply) => {
        await invitations.drop(ctx, userId(req), req.params.id, 'inviter', traceId(req));
        return reply.status(204).send(null);
      },
    );
  };
