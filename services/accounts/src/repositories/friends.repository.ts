import { and, desc, eq, or, sql } from 'drizzle-orm';
import type { Executor } from '../repositories/types';
import { blocks, conversations, friendRequests, friendships, users } from '../repositories/schema';

export type FriendRequestRow = typeof friendRequests.$inferSelect;

/** The pair in the order the tables store it. */
export const orderedPair = (x: string, y: string): [string, string] => (x < y ? [x, y] : [y, x]);

/** Friend requests, friendships and blocks: the social graph between two users. */
export function createFriendsRepository(db: Executor) {
  return {
    /**
     * Serialises every change to one pair of users until the transaction ends, so that two users
     * asking each other at the same moment (or accepting and cancelling at once) cannot interleave.
     */
    async lockPair(x: string, y: string): Promise<void> {
      const [a, b] = orderedPair(x, y);
      await db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`${a}:${b}`}, 0))`);
    },

    async createRequest(fromUserId: string, toUserId: string): Promise<FriendRequestRow | null> {
      const rows = await db.insert(friendRequests).values({ fromUserId, toUserId }).onConflictDoNothing().returning();
      return rows[0] ?? null;
    },
    async findRequest(id: string): Promise<FriendRequestRow | null> {
      const rows = await db.select().from(friendRequests).where(eq(friendRequests.id, id));
      return rows[0] ?? null;
    },
    async findRequestBetween(fromUserId: string, toUserId: string): Promise<FriendRequestRow | null> {
      const rows = await db
        .select()
        .from(friendRequests)
        .where(and(eq(friendRequests.fromUserId, fromUserId), eq(friendRequests.toUserId, toUserId)));
      return rows[0] ?? null;
    },
    async deleteRequest(id: string): Promise<FriendRequestRow | null> {
      const rows = await db.delete(friendRequests).where(eq(friendRequests.id, id)).returning();
      return rows[0] ?? null;
    },
    async deleteRequestsBetween(x: string, y: string): Promise<FriendRequestRow[]> {
      return db
        .delete(friendRequests)
        .where(
          or(
            and(eq(friendRequests.fromUserId, x), eq(friendRequests.toUserId, y)),
            and(eq(friendRequests.fromUserId, y), eq(friendRequests.toUserId, x)),
          ),
        )
        .returning();
    },
    async listRequests(userId: string) {
      const rows = await db
        .select({ request: friendRequests, from: users })
        .from(friendRequests)
        .innerJoin(
          users,
          eq(
            users.id,
            sql`case when ${friendRequests.fromUserId} = ${userId} then ${friendRequests.toUserId} else ${friendRequests.fromUserId} end`,
          ),
        )
        .where(or(eq(friendRequests.fromUserId, userId), eq(friendRequests.toUserId, userId)))
        .orderBy(desc(friendRequests.createdAt));
      return rows.map((r) => ({ request: r.request, other: r.from }));
    },

    /** Null when they already were friends. */
    async createFriendship(x: string, y: string): Promise<Date | null> {
      const [userA, userB] = orderedPair(x, y);
      const rows = await db.insert(friendships).values({ userA, userB }).onConflictDoNothing().returning();
      return rows[0]?.createdAt ?? null;
    },
    async deleteFriendship(x: string, y: string): Promise<boolean> {
      const [userA, userB] = orderedPair(x, y);
      const rows = await db
        .delete(friendships)
        .where(and(eq(friendships.userA, userA), eq(friendships.userB, userB)))
        .returning();
      return rows.length > 0;
    },
    async areFriends(x: string, y: string): Promise<boolean> {
      const [userA, userB] = orderedPair(x, y);
      const rows = await db
        .select({ a: friendships.userA })
        .from(friendships)
        .where(and(eq(friendships.userA, userA), eq(friendships.userB, userB)));
      return rows.length > 0;
    },
    async listFriends(userId: string) {
      const other = sql`case when ${friendships.userA} = ${userId} then ${friendships.userB} else ${friendships.userA} end`;
      // Both tables order the pair the same way, so the direct conversation joins on it.
      return db
        .select({ user: users, since: friendships.createdAt, conversationId: conversations.id })
        .from(friendships)
        .innerJoin(users, eq(users.id, other))
        .leftJoin(
          conversations,
          and(eq(conversations.directA, friendships.userA), eq(conversations.directB, friendships.userB)),
        )
        .where(or(eq(friendships.userA, userId), eq(friendships.userB, userId)))
        .orderBy(users.username);
    },
    async block(blockerId: string, blockedId: string): Promise<boolean> {
      const rows = await db.insert(blocks).values({ blockerId, blockedId }).onConflictDoNothing().returning();
      return rows.length > 0;
    },
    async unblock(blockerId: string, blockedId: string): Promise<boolean> {
      const rows = await db
        .delete(blocks)
        .where(and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)))
        .returning();
      return rows.length > 0;
    },
    async listBlocked(blockerId: string) {
      return db
        .select({ user: users, createdAt: blocks.createdAt })
        .from(blocks)
        .innerJoin(users, eq(users.id, blocks.blockedId))
        .where(eq(blocks.blockerId, blockerId))
        .orderBy(desc(blocks.createdAt));
    },
    async hasBlocked(blockerId: string, blockedId: string): Promise<boolean> {
      const rows = await db
        .select({ a: blocks.blockerId })
        .from(blocks)
        .where(and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)));
      return rows.length > 0;
    },
    /** Whether any user of `newIds` and any of `withIds` blocked the other (either direction). */
    async anyBlockBetween(newIds: string[], withIds: string[]): Promise<boolean> {
      if (!newIds.length || !withIds.length) return false;
      const rows = await db.execute(sql`
        select 1 from accounts.blocks
        where (blocker_id = any(${sql.param(newIds)}::uuid[]) and blocked_id = any(${sql.param(withIds)}::uuid[]))
           or (blocked_id = any(${sql.param(newIds)}::uuid[]) and blocker_id = any(${sql.param(withIds)}::uuid[]))
        limit 1`);
      return rows.rows.length > 0;
    },
    /** Those of `ids` who are not friends of `userId`. */
    async notFriendsOf(userId: string, ids: string[]): Promise<string[]> {
      if (!ids.length) return [];
      const rows = await db.execute<{ id: string }>(sql`
        select case when user_a = ${userId} then user_b else user_a end as id from accounts.friendships
        where (user_a = ${userId} and user_b = any(${sql.param(ids)}::uuid[])) or (user_b = ${userId} and user_a = any(${sql.param(ids)}::uuid[]))`);
      const friends = new Set(rows.rows.map((r) => r.id));
      return ids.filter((id) => !friends.has(id));
    },
    /** Either of the two blocked the other. */
    async blockedEitherWay(x: string, y: string): Promise<boolean> {
      const rows = await db
        .select({ a: blocks.blockerId })
        .from(blocks)
        .where(
          or(
            and(eq(blocks.blockerId, x), eq(blocks.blockedId, y)),
            and(eq(blocks.blockerId, y), eq(blocks.blockedId, x)),
          ),
        );
      return rows.length > 0;
    },
  };
}
export type FriendsRepository = ReturnType<typeof createFriendsRepository>;
