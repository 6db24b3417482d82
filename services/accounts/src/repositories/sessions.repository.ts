import { randomUUID } from 'node:crypto';
import { and, eq, gt, isNull, max } from 'drizzle-orm';
import type { Executor } from '../repositories/types';
import { refreshTokens } from '../repositories/schema';

export type RefreshTokenRow = typeof refreshTokens.$inferSelect;

/** Refresh-token families: a session is a family; each rotation adds a row and retires the previous one. */
export function createSessionsRepository(db: Executor) {
  /**
   * The query of `revokedSince`, unexecuted (a test EXPLAINs it): it reads the partial index
   * `refresh_tokens_revoked_idx`, never the live tokens.
   */
  const revokedSinceQuery = (since: Date) =>
    db
      .select({ sessionId: refreshTokens.familyId, revokedAt: max(refreshTokens.revokedAt) })
      .from(refreshTokens)
      .where(gt(refreshTokens.revokedAt, since))
      .groupBy(refreshTokens.familyId)
      .limit(200_000);
  return {
    async issue(input: {
      userId: string;
      tokenHash: string;
      expiresAt: Date;
      familyId?: string;
    }): Promise<RefreshTokenRow> {
      const rows = await db
        .insert(refreshTokens)
        .values({
          familyId: input.familyId ?? randomUUID(),
          userId: input.userId,
          tokenHash: input.tokenHash,
          expiresAt: input.expiresAt,
        })
        .returning();
      return rows[0]!;
    },
    /** Locks the row so two refreshes of the same token serialise: one rotates, the other sees it rotated. */
    async findByHashForUpdate(tokenHash: string): Promise<RefreshTokenRow | null> {
      const rows = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)).for('update');
      return rows[0] ?? null;
    },
    async markRotated(id: string): Promise<void> {
      await db.update(refreshTokens).set({ rotatedAt: new Date() }).where(eq(refreshTokens.id, id));
    },
    async revokeFamily(familyId: string): Promise<number> {
      const rows = await db
        .update(refreshTokens)
        .set({ revokedAt: new Date() })
        .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)))
        .returning({ id: refreshTokens.id });
      return rows.length;
    },
    revokedSinceQuery,
    /** Sessions revoked after `since`, each with when it was revoked (the start-up load of every service). */
    async revokedSince(since: Date): Promise<Array<{ sessionId: string; revokedAt: Date }>> {
      const rows = await revokedSinceQuery(since);
      return rows.flatMap((r) => (r.revokedAt ? [{ sessionId: r.sessionId, revokedAt: r.revokedAt }] : []));
    },
  };
}
export type SessionsRepository = ReturnType<typeof createSessionsRepository>;
