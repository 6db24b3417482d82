import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { AppError } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import { transact, type Deps } from '../../deps';
import { traceId, userId } from '../../auth/authenticate';
import { enqueue } from '../../outbox/outbox';
import { createE2eRepository } from '../../repositories/e2e.repository';
import { DeviceParams } from '../keys.routes';
import type { E2eAccess } from './e2e.access';
import {
  ClaimBody,
  ClaimResult,
  E2E_CIPHERSUITE,
  e2eLimits,
  KeyPackageCount,
  KeyPackagesBody,
  security,
  tags,
} from './e2e.schemas';

/**
 * A device's MLS key packages: publishing them (a new device's first ones are announced to the groups
 * of its user's encrypted conversations), counting them, claiming one of each device of a peer; and
 * removing a device with all it holds.
 */
export const deviceRoutes =
  (ctx: Deps, access: E2eAccess): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    const { repo, ownDevice } = access;

    app.delete(
      '/api/v1/keys/devices/:deviceId',
      {
        schema: {
          tags,
          security,
          summary: 'Remove one of your devices: its public key, key packages and welcome mailbox',
          params: DeviceParams,
          response: { 204: z.null(), ...errorResponses(400, 401, 404) },
        },
      },
      async (req, reply) => {
        if (!(await repo.deleteDevice(userId(req), req.params.deviceId)))
          throw new AppError('NOT_FOUND', 'no such device of yours');
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/api/v1/e2e/devices/:deviceId/key-packages',
      {
        schema: {
          tags,
          security,
          summary: 'Publish MLS key packages of one of your devices (one-time ones, and its last-resort one)',
          params: DeviceParams,
          body: KeyPackagesBody,
          response: { 200: KeyPackageCount, ...errorResponses(400, 401, 404, 409, 413) },
        },
      },
      async (req) => {
        const me = userId(req);
        const { deviceId } = req.params;
        // transact: a new device's announcement (below) goes out right after the commit, not at the next poll.
        return transact(ctx, async (tx) => {
          const r = createE2eRepository(tx);
          const device = await r.findDevice(me, deviceId);
          if (!device) throw new AppError('NOT_FOUND', 'no such device of yours');
          const have = await r.countKeyPackages(me, deviceId);
          if (have.available + req.body.keyPackages.length > e2eLimits.keyPackagesPerDevice) {
            throw new AppError(
              'CONFLICT',
              `a device holds at most ${e2eLimits.keyPackagesPerDevice} key packages (it has ${have.available})`,
            );
          }
          await r.addKeyPackages(me, deviceId, req.body.keyPackages);
          if (req.body.lastResort) await r.setLastResort(me, deviceId, req.body.lastResort);
          // A new device's first packages (it had none, not even a last-resort one): the groups of the
          // user's encrypted conversations are told (socket `e2e`, type `device`), so a member's idle
          // device adds it now. At most E2E_DEVICE_ANNOUNCE_MAX a window per user (a device removed and
          // registered again, over and over, is still added at the members' next send or open).
          if (have.available === 0 && !have.lastResort && device.algorithm === E2E_CIPHERSUITE) {
            const announce = await ctx.limits.e2eDeviceAnnounce.consume(me).then(
              () => true,
              (err: unknown) => {
                if (err instanceof AppError && err.code === 'RATE_LIMITED') return false;
                throw err;
              },
            );
            for (const g of announce ? await r.groupsForUser(me) : []) {
              const devices = await r.memberDevices(g.conversationId, E2E_CIPHERSUITE);
              await enqueue(
                tx,
                'e2e.changed',
                {
                  userIds: [...new Set(devices.map((d) => d.userId))],
                  event: { type: 'device', conversationId: g.conversationId, userId: me, deviceId },
                },
                traceId(req),
              );
            }
          }
          return {
            available: have.available + req.body.keyPackages.length,
            lastResort: have.lastResort || req.body.lastResort !== undefined,
          };
        });
      },
    );

    app.get(
      '/api/v1/e2e/devices/:deviceId/key-packages',
      {
        schema: {
          tags,
          security,
          summary: 'How many one-time key packages one of your devices has left, and whether it has a last-resort one',
          params: DeviceParams,
          response: { 200: KeyPackageCount, ...errorResponses(400, 401, 404) },
        },
      },
      async (req) => {
        await ownDevice(userId(req), req.params.deviceId);
        return repo.countKeyPackages(userId(req), req.params.deviceId);
      },
    );

    app.post(
      '/api/v1/e2e/key-packages/claim',
      {
        schema: {
          tags,
          security,
          summary: 'Take one key package of each device (of users you share a conversation with)',
          body: ClaimBody,
          response: { 200: ClaimResult, ...errorResponses(400, 401, 404, 413) },
        },
      },
      async (req) => {
        const me = userId(req);
        const out: Array<{ userId: string; deviceId: string; keyPackage: string | null }> = [];
        const shared = new Map<string, boolean>();
        for (const d of req.body.devices) {
          if (!shared.has(d.userId)) shared.set(d.userId, await repo.shareConversation(me, d.userId));
          if (!shared.get(d.userId)) throw new AppError('NOT_FOUND', 'user not found');
          const keyPackage = await ctx.db.transaction((tx) =>
            createE2eRepository(tx).claimKeyPackage(d.userId, d.deviceId),
          );
          out.push({ ...d, keyPackage });
        }
        return { keyPackages: out };
      },
    );
  };
