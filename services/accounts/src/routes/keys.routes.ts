import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { AppError, IdParams, limits, StorableString } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import type { Verifier } from '@chat/auth';
import type { Deps } from '../deps';
import { authenticate, userId } from '../auth/authenticate';
import { createDeviceKeysRepository, type DeviceKeyRow } from '../repositories/device-keys.repository';
import { createUsersRepository } from '../repositories/users.repository';

const tags = ['keys'];
const security = [{ bearer: [] }];

export const DeviceParams = z.strictObject({
  deviceId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be 1-128 of [A-Za-z0-9_-]'),
});
export const DeviceKeyBody = z.strictObject({
  publicKey: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z0-9+/_-]+={0,2}$/, 'must be base64'),
  algorithm: StorableString().min(1).max(64).optional(),
});
export const DeviceKey = z.object({
  deviceId: z.string(),
  userId: z.uuid(),
  publicKey: z.string(),
  algorithm: z.string().nullable(),
  updatedAt: z.string(),
});

const toDeviceKey = (r: DeviceKeyRow): z.infer<typeof DeviceKey> => ({
  deviceId: r.deviceId,
  userId: r.userId,
  publicKey: r.publicKey,
  algorithm: r.algorithm,
  updatedAt: r.updatedAt.toISOString(),
});

/** Public keys of devices, for end-to-end encryption: stored and served, never interpreted. */
export const keysRoutes =
  (ctx: Deps, verify: Verifier): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    app.addHook('onRequest', authenticate(verify));
    const keys = createDeviceKeysRepository(ctx.db);

    app.put(
      '/api/v1/keys/devices/:deviceId',
      {
        schema: {
          tags,
          security,
          summary: "Register or replace one of your devices' public key",
          params: DeviceParams,
          body: DeviceKeyBody,
          response: { 200: DeviceKey, ...errorResponses(400, 401, 409, 413) },
        },
      },
      async (req) => {
        const me = userId(req);
        // A bounded number of devices per user: each is a member of every encrypted group of the user (docs/e2e.md).
        const mine = await keys.listForUser(me);
        if (mine.length >= limits.deviceKeysPerUser && !mine.some((k) => k.deviceId === req.params.deviceId)) {
          throw new AppError(
            'CONFLICT',
            `at most ${limits.deviceKeysPerUser} devices per user: remove one first (DELETE /api/v1/keys/devices/:deviceId)`,
          );
        }
        return toDeviceKey(
          await keys.put({
            userId: me,
            deviceId: req.params.deviceId,
            publicKey: req.body.publicKey,
            algorithm: req.body.algorithm ?? null,
          }),
        );
      },
    );

    app.get(
      '/api/v1/users/:id/devices',
      {
        schema: {
          tags,
          security,
          summary: "A user's device public keys",
          params: IdParams,
          response: { 200: z.array(DeviceKey), ...errorResponses(400, 401, 404) },
        },
      },
      async (req) => {
        if (!(await createUsersRepository(ctx.db).findById(req.params.id)))
          throw new AppError('NOT_FOUND', 'user not found');
        return (await keys.listForUser(req.params.id)).map(toDeviceKey);
      },
    );
  };
