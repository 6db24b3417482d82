import { asc, eq } from 'drizzle-orm';
import type { Executor } from '../repositories/types';
import { deviceKeys } from '../repositories/schema';

export type DeviceKeyRow = typeof deviceKeys.$inferSelect;

export function createDeviceKeysRepository(db: Executor) {
  return {
    async put(input: {
      userId: string;
      deviceId: string;
      publicKey: string;
      algorithm: string | null;
    }): Promise<DeviceKeyRow> {
      const rows = await db
        .insert(deviceKeys)
        .values({ ...input, updatedAt: new Date() })
        .onConflictDoUpdate({
          target: [deviceKeys.userId, deviceKeys.deviceId],
          set: { publicKey: input.publicKey, algorithm: input.algorithm, updatedAt: new Date() },
        })
        .returning();
      return rows[0]!;
    },
    async listForUser(userId: string): Promise<DeviceKeyRow[]> {
      return db.select().from(deviceKeys).where(eq(deviceKeys.userId, userId)).orderBy(asc(deviceKeys.deviceId));
    },
  };
}
export type DeviceKeysRepository = ReturnType<typeof createDeviceKeysRepository>;
