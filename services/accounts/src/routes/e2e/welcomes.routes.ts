import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import type { Deps } from '../../deps';
import { userId } from '../../auth/authenticate';
import { DeviceParams } from '../keys.routes';
import type { E2eAccess } from './e2e.access';
import { AckBody, e2eLimits, security, tags, Welcomes, WelcomesQuery } from './e2e.schemas';

/** A device's welcome mailbox: the Welcomes of the groups that added it, until it acknowledges them. */
export const welcomeRoutes =
  (ctx: Deps, access: E2eAccess): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    const { repo, ownDevice } = access;

    app.get(
      '/api/v1/e2e/devices/:deviceId/welcomes',
      {
        schema: {
          tags,
          security,
          summary: "One of your devices' pending welcomes, oldest first (of one conversation with ?conversationId=)",
          params: DeviceParams,
          querystring: WelcomesQuery,
          response: { 200: Welcomes, ...errorResponses(400, 401, 404) },
        },
      },
      async (req) => {
        await ownDevice(userId(req), req.params.deviceId);
        const rows = await repo.welcomesFor(
          userId(req),
          req.params.deviceId,
          e2eLimits.welcomesPerPage,
          req.query.conversationId,
        );
        return rows.map((w) => ({ ...w, createdAt: w.createdAt.toISOString() }));
      },
    );

    app.post(
      '/api/v1/e2e/devices/:deviceId/welcomes/ack',
      {
        schema: {
          tags,
          security,
          summary: 'Delete processed welcomes from a device mailbox',
          params: DeviceParams,
          body: AckBody,
          response: { 200: z.object({ deleted: z.number().int() }), ...errorResponses(400, 401, 404, 413) },
        },
      },
      async (req) => {
        await ownDevice(userId(req), req.params.deviceId);
        return { deleted: await repo.deleteWelcomes(userId(req), req.params.deviceId, req.body.ids) };
      },
    );
  };
