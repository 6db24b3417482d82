import { and, eq, sql } from 'drizzle-orm';
import { memberSets, members } from './schema';
import type { Db, Executor } from './types';

export type Membership = 'member' | 'not_member' | 'unknown';

export function createMembersRepository(db: Db) {
  return {
    /** `unknown` when this conversation's member list was never learnt here. */
    async check(conversationId: string, userId: string): Promise<Membership> {
      const res = await db.execute<{ known: boolean; member: boolean }>(sql`
        select exists(select 1 from ${memberSets} where ${memberSets.conversationId} = ${conversationId}) as known,
               exists(select 1 from ${members} where ${members.conversationId} = ${conversationId} and ${members.userId} = ${userId}) as member`);
      const row = res.rows[0]!;
      return row.member ? 'member' : row.known ? 'not_member' : 'unknown';
    },

    /**
     * Replaces a conversation's member list with a snapshot taken at `syncedAt`, unless a newer one is
     * already stored (events may arrive late or after a lookup). The member_sets row lock serialises
     * concurrent replacements of one conversation. Returns whether it was applied.
     */
    async replace(exec: Executor, conversationId: string, memberIds: string[], syncedAt: Date): Promise<boolean> {
      const applied = await exec
        .insert(memberSets)
        .values({ conversationId, syncedAt })
        .onConflictDoUpdate({
          target: memberSets.conversationId,
          set: { syncedAt: sql`excluded.synced_at` },
          setWhere: sql`member_sets.synced_at <= excluded.synced_at`,
        })
        .returning({ id: memberSets.conversationId });
      if (applied.length === 0) return false;
      await exec.delete(members).where(eq(members.conversationId, conversationId));
      const unique = [...new Set(memberIds)];
      if (unique.length) await exec.insert(members).values(unique.map((userId) => ({ conversationId, userId })));
      return true;
    },

    async isMember(conversationId: string, userId: string): Promise<boolean> {
      const rows = await db
        .select({ u: members.userId })
        .from(members)
        .where(and(eq(members.conversationId, conversationId), eq(members.userId, userId)));
      return rows.length > 0;
    },
  };
}
export type MembersRepository = ReturnType<typeof createMembersRepository>;
