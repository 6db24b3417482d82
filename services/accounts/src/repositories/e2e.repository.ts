import { and, asc, count, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import type { Executor } from './types';
import { conversationMembers, deviceKeys } from './schema';
import { e2eCommits, e2eGroups, e2eKeyPackages, e2eWelcomes } from './e2e.schema';

export type E2eGroupRow = typeof e2eGroups.$inferSelect;

/** Key material and MLS handshake messages (docs/e2e.md). Every value stored here is opaque. */
export function createE2eRepository(db: Executor) {
  return {
    /** A device's one-time key packages on the server, and whether it has a last-resort one. */
    async countKeyPackages(userId: string, deviceId: string): Promise<{ available: number; lastResort: boolean }> {
      const rows = await db
        .select({ lastResort: e2eKeyPackages.lastResort, n: count() })
        .from(e2eKeyPackages)
        .where(and(eq(e2eKeyPackages.userId, userId), eq(e2eKeyPackages.deviceId, deviceId)))
        .groupBy(e2eKeyPackages.lastResort);
      return {
        available: Number(rows.find((r) => !r.lastResort)?.n ?? 0),
        lastResort: rows.some((r) => r.lastResort),
      };
    },

    async addKeyPackages(userId: string, deviceId: string, keyPackages: string[]): Promise<void> {
      if (keyPackages.length === 0) return;
      await db.insert(e2eKeyPackages).values(keyPackages.map((keyPackage) => ({ userId, deviceId, keyPackage })));
    },

    /** Sets a device's last-resort package, replacing the one it had. */
    async setLastResort(userId: string, deviceId: string, keyPackage: string): Promise<void> {
      await db
        .delete(e2eKeyPackages)
        .where(
          and(
            eq(e2eKeyPackages.userId, userId),
            eq(e2eKeyPackages.deviceId, deviceId),
            eq(e2eKeyPackages.lastResort, true),
          ),
        );
      await db.insert(e2eKeyPackages).values({ userId, deviceId, keyPackage, lastResort: true });
    },

    /**
     * Takes one key package of a device: its oldest one-time package, deleted as it is handed out (so
     * it is used once); when none is left, its last-resort package, handed out again and kept
     * (RFC 9420 §16.8) so nobody can make a device unreachable by draining its packages.
     */
    async claimKeyPackage(userId: string, deviceId: string): Promise<string | null> {
      const [oneTime] = await db
        .select({ id: e2eKeyPackages.id, keyPackage: e2eKeyPackages.keyPackage })
        .from(e2eKeyPackages)
        .where(
          and(
            eq(e2eKeyPackages.userId, userId),
            eq(e2eKeyPackages.deviceId, deviceId),
            eq(e2eKeyPackages.lastResort, false),
          ),
        )
        .orderBy(asc(e2eKeyPackages.id))
        .limit(1)
        .for('update', { skipLocked: true });
      if (oneTime) {
        await db.delete(e2eKeyPackages).where(eq(e2eKeyPackages.id, oneTime.id));
        return oneTime.keyPackage;
      }
      const [lastResort] = await db
        .select({ keyPackage: e2eKeyPackages.keyPackage })
        .from(e2eKeyPackages)
        .where(
          and(
            eq(e2eKeyPackages.userId, userId),
            eq(e2eKeyPackages.deviceId, deviceId),
            eq(e2eKeyPackages.lastResort, true),
          ),
        )
        .limit(1);
      return lastResort?.keyPackage ?? null;
    },

    async findGroup(conversationId: string): Promise<E2eGroupRow | null> {
      const rows = await db.select().from(e2eGroups).where(eq(e2eGroups.conversationId, conversationId));
      return rows[0] ?? null;
    },

    async lockGroup(conversationId: string): Promise<E2eGroupRow | null> {
      const rows = await db.select().from(e2eGroups).where(eq(e2eGroups.conversationId, conversationId)).for('update');
      return rows[0] ?? null;
    },

    /** Marks a conversation end-to-end encrypted; false when it already was. */
    async createGroup(conversationId: string, createdBy: string): Promise<E2eGroupRow | null> {
      const rows = await db.insert(e2eGroups).values({ conversationId, createdBy }).onConflictDoNothing().returning();
      return rows[0] ?? null;
    },

    async groupsForUser(userId: string): Promise<E2eGroupRow[]> {
      return db
        .select({
          conversationId: e2eGroups.conversationId,
          epoch: e2eGroups.epoch,
          createdBy: e2eGroups.createdBy,
          createdAt: e2eGroups.createdAt,
        })
        .from(e2eGroups)
        .innerJoin(conversationMembers, eq(conversationMembers.conversationId, e2eGroups.conversationId))
        .where(eq(conversationMembers.userId, userId))
        .orderBy(asc(e2eGroups.conversationId));
    },

    /** Every registered device of every member of a conversation that speaks `algorithm`. */
    async memberDevices(conversationId: string, algorithm: string) {
      return db
        .select({
          userId: deviceKeys.userId,
          deviceId: deviceKeys.deviceId,
          publicKey: deviceKeys.publicKey,
          updatedAt: deviceKeys.updatedAt,
        })
        .from(deviceKeys)
        .innerJoin(conversationMembers, eq(conversationMembers.userId, deviceKeys.userId))
        .where(and(eq(conversationMembers.conversationId, conversationId), eq(deviceKeys.algorithm, algorithm)))
        .orderBy(asc(deviceKeys.userId), asc(deviceKeys.deviceId));
    },

    /** Records the commit that took the group from `epoch` to `epoch + 1`; keeps the last `keep`. */
    async appendCommit(
      input: { conversationId: string; epoch: number; commit: string; senderUserId: string; senderDeviceId: string },
      keep: number,
    ): Promise<void> {
      await db.insert(e2eCommits).values(input);
      await db
        .update(e2eGroups)
        .set({ epoch: input.epoch + 1 })
        .where(eq(e2eGroups.conversationId, input.conversationId));
      await db
        .delete(e2eCommits)
        .where(and(eq(e2eCommits.conversationId, input.conversationId), lt(e2eCommits.epoch, input.epoch + 1 - keep)));
    },

    async commitsFrom(conversationId: string, fromEpoch: number, limit: number) {
      return db
        .select({
          epoch: e2eCommits.epoch,
          commit: e2eCommits.commit,
          senderUserId: e2eCommits.senderUserId,
          senderDeviceId: e2eCommits.senderDeviceId,
        })
        .from(e2eCommits)
        .where(and(eq(e2eCommits.conversationId, conversationId), gte(e2eCommits.epoch, fromEpoch)))
        .orderBy(asc(e2eCommits.epoch))
        .limit(limit);
    },

    /** Puts a welcome in each device's mailbox, dropping a device's oldest beyond `keep`. */
    async addWelcomes(
      input: {
        conversationId: string;
        epoch: number;
        welcome: string;
        devices: Array<{ userId: string; deviceId: string }>;
      },
      keep: number,
    ): Promise<void> {
      if (input.devices.length === 0) return;
      await db.insert(e2eWelcomes).values(
        input.devices.map((d) => ({
          ...d,
          conversationId: input.conversationId,
          epoch: input.epoch,
          welcome: input.welcome,
        })),
      );
      for (const d of input.devices) {
        await db.execute(sql`delete from ${e2eWelcomes} where ${e2eWelcomes.userId} = ${d.userId} and ${e2eWelcomes.deviceId} = ${d.deviceId}
          and ${e2eWelcomes.id} not in (select ${e2eWelcomes.id} from ${e2eWelcomes} where ${e2eWelcomes.userId} = ${d.userId} and ${e2eWelcomes.deviceId} = ${d.deviceId} order by ${e2eWelcomes.id} desc limit ${keep})`);
      }
    },

    async welcomesFor(userId: string, deviceId: string, limit: number, conversationId?: string) {
      return db
        .select({
          id: e2eWelcomes.id,
          conversationId: e2eWelcomes.conversationId,
          epoch: e2eWelcomes.epoch,
          welcome: e2eWelcomes.welcome,
          createdAt: e2eWelcomes.createdAt,
        })
        .from(e2eWelcomes)
        .where(
          and(
            eq(e2eWelcomes.userId, userId),
            eq(e2eWelcomes.deviceId, deviceId),
            conversationId ? eq(e2eWelcomes.conversationId, conversationId) : undefined,
          ),
        )
        .orderBy(asc(e2eWelcomes.id))
        .limit(limit);
    },

    async deleteWelcomes(userId: string, deviceId: string, ids: number[]): Promise<number> {
      if (ids.length === 0) return 0;
      const rows = await db
        .delete(e2eWelcomes)
        .where(and(eq(e2eWelcomes.userId, userId), eq(e2eWelcomes.deviceId, deviceId), inArray(e2eWelcomes.id, ids)))
        .returning({ id: e2eWelcomes.id });
      return rows.length;
    },

    /** Removes a device: its public key, key packages and mailbox go with it (foreign keys cascade). */
    async deleteDevice(userId: string, deviceId: string): Promise<boolean> {
      const rows = await db
        .delete(deviceKeys)
        .where(and(eq(deviceKeys.userId, userId), eq(deviceKeys.deviceId, deviceId)))
        .returning({ deviceId: deviceKeys.deviceId });
      return rows.length > 0;
    },

    async findDevice(userId: string, deviceId: string) {
      const rows = await db
        .select()
        .from(deviceKeys)
        .where(and(eq(deviceKeys.userId, userId), eq(deviceKeys.deviceId, deviceId)));
      return rows[0] ?? null;
    },

    /** Whether two users share at least one conversation. */
    async shareConversation(a: string, b: string): Promise<boolean> {
      if (a === b) return true;
      const rows =
        await db.execute(sql`select 1 from ${conversationMembers} m1 join ${conversationMembers} m2 on m1.conversation_id = m2.conversation_id
        where m1.user_id = ${a} and m2.user_id = ${b} limit 1`);
      return rows.rows.length > 0;
    },
  };
}
export type E2eRepository = ReturnType<typeof createE2eRepository>;
