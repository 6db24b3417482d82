import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { AppError, IdParams } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import { transact, type Deps } from '../../deps';
import { traceId, userId } from '../../auth/authenticate';
import { enqueue, enqueueAll } from '../../outbox/outbox';
import { conversationEvent } from '../../domain/events';
import { createConversationsRepository } from '../../repositories/conversations.repository';
import { createE2eRepository } from '../../repositories/e2e.repository';
import type { E2eAccess } from './e2e.access';
import { E2E_CIPHERSUITE, E2eGroup, E2eGroupDetail, RejoinBody, security, tags, toGroup } from './e2e.schemas';

/**
 * Encrypted conversations as MLS groups: listing them, making one encrypted (published as
 * `conversation.changed` with `encrypted: true`, in the switch's transaction), a group's devices, and a
 * stale device's request to be re-added.
 */
export const groupRoutes =
  (ctx: Deps, access: E2eAccess): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    const { repo, ownDevice, memberGroup } = access;

    app.get(
      '/api/v1/e2e/groups',
      {
        schema: {
          tags,
          security,
          summary: 'Your end-to-end encrypted conversations and their epochs',
          response: { 200: z.array(E2eGroup), ...errorResponses(401) },
        },
      },
      async (req) => (await repo.groupsForUser(userId(req))).map(toGroup),
    );

    app.post(
      '/api/v1/e2e/groups/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Make one of your conversations end-to-end encrypted (for good)',
          params: IdParams,
          response: { 201: E2eGroup, ...errorResponses(400, 401, 404, 409) },
        },
      },
      async (req, reply) => {
        const me = userId(req);
        const group = await transact(ctx, async (tx) => {
          const c = createConversationsRepository(tx);
          // Locked like any membership change, so each change's `conversation.changed` reads the flag
          // as it is when that change commits.
          if (!(await c.lock(req.params.id)) || !(await c.findMember(req.params.id, me)))
            throw new AppError('NOT_FOUND', 'conversation not found');
          const created = await createE2eRepository(tx).createGroup(req.params.id, me);
          if (!created) throw new AppError('CONFLICT', 'conversation is already end-to-end encrypted');
          // Published with the switch: the gateways refuse plaintext sends from this event on, without
          // asking accounts (the members' clients get it as the socket `conversation` event, `updated`).
          const after = (await c.withMembers(req.params.id))!;
          await enqueueAll(tx, [conversationEvent('updated', after, { encrypted: true })], traceId(req));
          return created;
        });
        return reply.status(201).send(toGroup(group));
      },
    );

    app.get(
      '/api/v1/e2e/groups/:id',
      {
        schema: {
          tags,
          security,
          summary: "A group's epoch and the devices it should hold (every member's)",
          params: IdParams,
          response: { 200: E2eGroupDetail, ...errorResponses(400, 401, 404) },
        },
      },
      async (req) => {
        const group = await memberGroup(userId(req), req.params.id);
        const devices = await repo.memberDevices(req.params.id, E2E_CIPHERSUITE);
        return { ...toGroup(group), devices: devices.map((d) => ({ ...d, updatedAt: d.updatedAt.toISOString() })) };
      },
    );

    app.post(
      '/api/v1/e2e/groups/:id/rejoin',
      {
        schema: {
          tags,
          security,
          summary:
            "Ask the members' devices to re-add one of your devices that cannot catch up, with a fresh key package",
          params: IdParams,
          body: RejoinBody,
          response: { 202: z.object({ epoch: z.number().int() }), ...errorResponses(400, 401, 404, 429) },
        },
      },
      async (req, reply) => {
        const me = userId(req);
        const { deviceId, keyPackage } = req.body;
        // Nothing is stored: the request goes to the devices online now (socket `e2e`, type `rejoin`);
        // the asking device asks again later if none of them acts.
        const group = await memberGroup(me, req.params.id);
        await ownDevice(me, deviceId);
        // Each request makes the members' devices commit a re-add: one per (device, conversation) per
        // window, counted only once the request is known to be valid (429 RATE_LIMITED, no event).
        await ctx.limits.e2eRejoin.consume(`${me}:${deviceId}:${req.params.id}`, reply);
        const devices = await repo.memberDevices(req.params.id, E2E_CIPHERSUITE);
        await transact(ctx, (tx) =>
          enqueue(
            tx,
            'e2e.changed',
            {
              userIds: [...new Set(devices.map((d) => d.userId))],
              event: {
                type: 'rejoin',
                conversationId: req.params.id,
                epoch: group.epoch,
                userId: me,
                deviceId,
                keyPackage,
              },
            },
            traceId(req),
          ),
        );
        const epoch = group.epoch;
        return reply.status(202).send({ epoch });
      },
    );
  };
