import { z } from 'zod';
import { Uuid } from '@chat/contracts';
import { DeviceParams } from '../keys.routes';

/** What the end-to-end routes take and answer (docs/api.md, "End-to-end encrypted conversations"). */
export const tags = ['e2e'];
export const security = [{ bearer: [] }];

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
export const DeviceRef = z.strictObject({ userId: Uuid, deviceId: DeviceParams.shape.deviceId });

export const KeyPackagesBody = z
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
export const KeyPackageCount = z.object({ available: z.number().int(), lastResort: z.boolean() });
export const ClaimBody = z.strictObject({ devices: z.array(DeviceRef).min(1).max(e2eLimits.claimMaxDevices) });
export const ClaimResult = z.object({
  keyPackages: z.array(z.object({ userId: z.string(), deviceId: z.string(), keyPackage: z.string().nullable() })),
});
export const E2eGroup = z.object({
  conversationId: z.uuid(),
  epoch: z.number().int(),
  createdBy: z.uuid().nullable(),
  createdAt: z.string(),
});
export const E2eGroupDetail = E2eGroup.extend({
  devices: z.array(z.object({ userId: z.uuid(), deviceId: z.string(), publicKey: z.string(), updatedAt: z.string() })),
});
export const CommitBody = z.strictObject({
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
export const RejoinBody = z.strictObject({
  deviceId: DeviceParams.shape.deviceId,
  keyPackage: b64(e2eLimits.keyPackageMaxChars),
});
export const CommitsQuery = z.strictObject({ from: z.coerce.number().int().min(0).default(0) });
export const Commits = z.object({
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
export const Welcomes = z.array(
  z.object({
    id: z.number().int(),
    conversationId: z.uuid(),
    epoch: z.number().int(),
    welcome: z.string(),
    createdAt: z.string(),
  }),
);
export const WelcomesQuery = z.strictObject({ conversationId: Uuid.optional() });
export const AckBody = z.strictObject({ ids: z.array(z.number().int().min(1)).min(1).max(e2eLimits.welcomesPerPage) });

export const toGroup = (g: { conversationId: string; epoch: number; createdBy: string | null; createdAt: Date }) => ({
  ...g,
  createdAt: g.createdAt.toISOString(),
});
