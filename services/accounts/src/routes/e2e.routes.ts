import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { AppError, IdParams, Uuid } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import type { Verifier } from '@chat/auth';
import { transact, type Deps } from '../deps';
import { authenticate, traceId, userId } from '../auth/authenticate';
import { enqueue, enqueueAll } from '../outbox/outbox';
import { conversationEvent } from '../domain/events';
import { createConversationsRepository } from '../repositories/conversations.repository';
import { createE2eRepository } from '../repositories/e2e.repository';
import { DeviceParams } from './keys.routes';

const tags = ['e2e'];
const security = [{ bearer: [] }];

/** The one MLS ciphersuite the clients speak (docs/e2e.md); devices register with it as `algorithm`. */
export const E2E_CIPHERSUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

/** Bounds on everything the end-to-end routes store (docs/api.md, Limits). */
export const e2eLimits = {
  keyPackageMaxChars: 2048,
  keyPackagesPerUpload: 50,
  keyPackagesPerDevice: 100,
  claimMaxDevices: 100,
  commitMaxChars: 30_000,
  welcomeMaxChars: 30_000,
  welcomeMaxDevices: 100,
  /** Commits a group keeps for devices that were offline (E2E_COMMITS_KEPT); older ones are dropped. */
  commitsKept: 1000,
  commitsPerPage: 100,
  /** Welcomes a device's mailbox keeps; the oldest are dropped beyond this. */
  welcomesKept: 200,
  welcomesPerPage: 50,
} as const;

const b64 = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');
const DeviceRef = z.strictObject({ userId: Uuid, deviceId: DeviceParams.shape.deviceId });

const KeyPackagesBody = z
  .strictObject({
    keyPackages: z.array(b64(e2eLimits.keyPackageMaxChars)).max(e2eLimits.keyPackagesPerUpload),
    /** Replaces the device's last-resort package (handed out only when no one-time package is left). */
    lastResort: b64(e2eLimits.keyPackageMaxChars).optional(),
  })
  .refine((b) => b.keyPackages.length > 0 || b.lastResort !== undefined, {
    message: 'give keyPackages, lastResort, or both',
    path: ['keyPackages'],
  });
/** `available`: one-time packages left; `lastResort`: whether the device has a last-resort package. */
const KeyPackageCount = z.object({ available: z.number().int(), lastResort: z.boolean() });
const ClaimBody = z.strictObject({ devices: z.array(DeviceRef).min(1).max(e2eLimits.claimMaxDevices) });
const ClaimResult = z.object({
  keyPackages: z.array(z.object({ userId: z.string(), deviceId: z.string(), keyPackage: z.string().nullable() })),
});
const E2eGroup = z.object({
  conversationId: z.uuid(),
  epoch: z.number().int(),
  createdBy: z.uuid().nullable(),
  createdAt: z.string(),
});
const E2eGroupDetail = E2eGroup.extend({
  devices: z.array(z.object({ userId: z.uuid(), deviceId: z.string(), publicKey: z.string(), updatedAt: z.string() })),
});
const CommitBody = z.strictObject({
  epoch: z.number().int().min(0),
  deviceId: DeviceParams.shape.deviceId,
  commit: b64(e2eLimits.commitMaxChars),
  welcome: z
    .strictObject({
      message: b64(e2eLimits.welcomeMaxChars),
      devices: z.array(DeviceRef).min(1).max(e2eLimits.welcomeMaxDevices),
    })
    .optional(),
});
const RejoinBody = z.strictObject({
  deviceId: DeviceParams.shape.deviceId,
  keyPackage: b64(e2eLimits.keyPackageMaxChars),
});
const CommitsQuery = z.strictObject({ from: z.coerce.number().int().min(0).default(0) });
const Commits = z.object({
  epoch: z.number().int(),
  commits: z.array(
    z.object({
      epoch: z.number().int(),
      commit: z.string(),
      senderUserId: z.string().nullable(),
      senderDeviceId: z.string().nullable(),
    }),
  ),
});
const Welcomes = z.array(
  z.object({
    id: z.number().int(),
    conversationId: z.uuid(),
    epoch: z.number().int(),
    welcome: z.string(),
    createdAt: z.string(),
  }),
);
const WelcomesQuery = z.strictObject({ conversationId: Uuid.optional() });
const AckBody = z.strictObject({ ids: z.array(z.number().int().min(1)).min(1).max(e2eLimits.welcomesPerPage) });

const toGroup = (g: { conversationId: string; epoch: number; createdBy: string | null; createdAt: Date }) => ({
  ...g,
  createdAt: g.createdAt.toISOString(),
});

/**
 * End-to-end encryption with MLS (RFC 9420): key packages, the order of each group's commits and the
 * devices' welcome mailboxes. The server stores and hands out opaque bytes; it never sees a group
 * secret, a private key or a message's plaintext, and logs none of the bodies (http-kit logs no bodies).
 */
export const e2eRoutes =
  (ctx: Deps, verify: Verifier): FastifyPluginAsync =>
  async (root) => {
    const app = root.withTypeProvider<ZodTypeProvider>();
    app.addHook('onRequest', authenticate(verify));
    const repo = createE2eRepository(ctx.db);
    const convs = createConversationsRepository(ctx.db);

    const ownDevice = async (user: string, deviceId: string) => {
      if (!(await repo.findDevice(user, deviceId))) throw new AppError('NOT_FOUND', 'no such device of yours');
    };
    const memberGroup = async (user: string, conversationId: string) => {
      if (!(await convs.findMember(conversationId, user))) throw new AppError('NOT_FOUND', 'conversation not found');
      const group = await repo.findGroup(conversationId);
      if (!group) throw new AppError('NOT_FOUND', 'conversation is not end-to-end encrypted');
      return group;
    };

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
        return ctx.db.transaction(async (tx) => {
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
