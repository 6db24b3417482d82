import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { AppError, IdParams } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import { transact, type Deps } from '../../deps';
import { traceId, userId } from '../../auth/authenticate';
import { enqueue } from '../../outbox/outbox';
import { createConversationsRepository } from '../../repositories/conversations.repository';
import { createE2eRepository } from '../../repositories/e2e.repository';
import type { E2eAccess } from './e2e.access';
import { CommitBody, Commits, CommitsQuery, E2E_CIPHERSUITE, e2eLimits, security, tags } from './e2e.schemas';

/**
 * The order of a group's commits: one accepted per epoch (compare-and-set under the group's row lock),
 * with its welcome for the devices it adds, and the commits since an epoch for a device catching up.
 */
export const commitRoutes =
  (ctx: Deps, access: E2eAccess): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    const { repo, memberGroup } = access;

    app.post(
      '/api/v1/e2e/groups/:id/commits',
      {
        schema: {
          tags,
          security,
          summary: 'Append a commit made at the current epoch (and its welcome for added devices)',
          params: IdParams,
          body: CommitBody,
          response: { 201: z.object({ epoch: z.number().int() }), ...errorResponses(400, 401, 404, 409, 413) },
        },
      },
      async (req, reply) => {
        const me = userId(req);
        const { epoch, deviceId, commit, welcome } = req.body;
        const next = await transact(ctx, async (tx) => {
          const r = createE2eRepository(tx);
          if (!(await createConversationsRepository(tx).findMember(req.params.id, me)))
            throw new AppError('NOT_FOUND', 'conversation not found');
          const group = await r.lockGroup(req.params.id);
          if (!group) throw new AppError('NOT_FOUND', 'conversation is not end-to-end encrypted');
          if (!(await r.findDevice(me, deviceId))) throw new AppError('NOT_FOUND', 'no such device of yours');
          if (group.epoch !== epoch)
            throw new AppError(
              'CONFLICT',
              `the group is at epoch ${group.epoch}: apply the commits since ${epoch} first`,
            );
          const devices = await r.memberDevices(req.params.id, E2E_CIPHERSUITE);
          if (welcome) {
            const allowed = new Set(devices.map((d) => `${d.userId}:${d.deviceId}`));
            const stranger = welcome.devices.find((d) => !allowed.has(`${d.userId}:${d.deviceId}`));
            if (stranger)
              throw new AppError('VALIDATION', 'a welcome may only go to devices of members of the conversation');
          }
          await r.appendCommit(
            { conversationId: req.params.id, epoch, commit, senderUserId: me, senderDeviceId: deviceId },
            ctx.config.E2E_COMMITS_KEPT,
          );
          if (welcome)
            await r.addWelcomes(
              { conversationId: req.params.id, epoch: epoch + 1, welcome: welcome.message, devices: welcome.devices },
              e2eLimits.welcomesKept,
            );
          // The members' devices learn it at once (socket `e2e`), in the same transaction as the commit.
          await enqueue(
            tx,
            'e2e.changed',
            {
              userIds: [...new Set(devices.map((d) => d.userId))],
              event: {
                type: 'commit',
                conversationId: req.params.id,
                epoch: epoch + 1,
                deviceId,
                welcomed: welcome?.devices ?? [],
              },
            },
            traceId(req),
          );
          return epoch + 1;
        });
        return reply.status(201).send({ epoch: next });
      },
    );

    app.get(
      '/api/v1/e2e/groups/:id/commits',
      {
        schema: {
          tags,
          security,
          summary: 'The commits from an epoch on, in order (at most 100 a page)',
          params: IdParams,
          querystring: CommitsQuery,
          response: { 200: Commits, ...errorResponses(400, 401, 404) },
        },
      },
      async (req) => {
        const group = await memberGroup(userId(req), req.params.id);
        return {
          epoch: group.epoch,
          commits: await repo.commitsFrom(req.params.id, req.query.from, e2eLimits.commitsPerPage),
        };
      },
    );
  };
