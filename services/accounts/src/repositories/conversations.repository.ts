import { and, asc, count, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import type { MemberRole } from '@chat/contracts';
import type { Executor } from '../repositories/types';
import { conversationMembers, conversations, users } from '../repositories/schema';
import { orderedPair } from './friends.repository';

export type ConversationRow = typeof conversations.$inferSelect;
export type Membership = typeof conversationMembers.$inferSelect;
/** A member with the names a client shows (so it needs no user lookup per member). */
export type MemberRow = Membership & { username: string; displayName: string };
export interface ConversationWithMembers {
  conversation: ConversationRow;
  members: MemberRow[];
}

export function createConversationsRepository(db: Executor) {
  const membersOf = async (ids: string[]): Promise<Map<string, MemberRow[]>> => {
    const byConv = new Map<string, MemberRow[]>(ids.map((id) => [id, []]));
    if (!ids.length) return byConv;
    const rows = await db
      .select({ ...getTableColumns(conversationMembers), username: users.username, displayName: users.displayName })
      .from(conversationMembers)
      .innerJoin(users, eq(users.id, conversationMembers.userId))
      .where(inArray(conversationMembers.conversationId, ids))
      .orderBy(asc(conversationMembers.joinedAt), asc(conversationMembers.userId));
    for (const r of rows) byConv.get(r.conversationId)?.push(r);
    return byConv;
  };

  return {
    membersOf,

    async createRoom(title: string, members: Array<{ userId: string; role: MemberRole }>): Promise<ConversationRow> {
      const [row] = await db.insert(conversations).values({ kind: 'room', title }).returning();
      await db
        .insert(conversationMembers)
        .values(members.map((m) => ({ conversationId: row!.id, userId: m.userId, role: m.role })));
      return row!;
    },

    /**
     * The pair's one direct conversation. The unique index on the ordered pair decides under
     * concurrency: a second inserter waits for the first to commit, inserts nothing, and then reads
     * the winner's row (a new statement sees it under READ COMMITTED).
     */
    async getOrCreateDirect(x: string, y: string): Promise<{ conversation: ConversationRow; created: boolean }> {
      const [directA, directB] = orderedPair(x, y);
      const inserted = await db
        .insert(conversations)
        .values({ kind: 'direct', directA, directB })
        .onConflictDoNothing()
        .returning();
      if (inserted[0]) {
        await db.insert(conversationMembers).values([
          { conversationId: inserted[0].id, userId: directA, role: 'member' },
          { conversationId: inserted[0].id, userId: directB, role: 'member' },
        ]);
        return { conversation: inserted[0], created: true };
      }
      const rows = await db
        .select()
        .from(conversations)
        .where(and(eq(conversations.directA, directA), eq(conversations.directB, directB)));
      return { conversation: rows[0]!, created: false };
    },

    async findDirect(x: string, y: string): Promise<ConversationRow | null> {
      const [directA, directB] = orderedPair(x, y);
      const rows = await db
        .select()
        .from(conversations)
        .where(and(eq(conversations.directA, directA), eq(conversations.directB, directB)));
      return rows[0] ?? null;
    },

    async findById(id: string): Promise<ConversationRow | null> {
      const rows = await db.select().from(conversations).where(eq(conversations.id, id));
      return rows[0] ?? null;
    },

    /** Row lock: membership changes of one conversation run one at a time (limits, ownership hand-over). */
    async lock(id: string): Promise<ConversationRow | null> {
      const rows = await db.select().from(conversations).where(eq(conversations.id, id)).for('update');
      return rows[0] ?? null;
    },

    async withMembers(id: string): Promise<ConversationWithMembers | null> {
      const conversation = await this.findById(id);
      if (!conversation) return null;
      return { conversation, members: (await membersOf([id])).get(id) ?? [] };
    },

    async findMember(conversationId: string, userId: string): Promise<Membership | null> {
      const rows = await db
        .select()
        .from(conversationMembers)
        .where(and(eq(conversationMembers.conversationId, conversationId), eq(conversationMembers.userId, userId)));
      return rows[0] ?? null;
    },

    async countMembers(conversationId: string): Promise<number> {
      const [row] = await db
        .select({ n: count() })
        .from(conversationMembers)
        .where(eq(conversationMembers.conversationId, conversationId));
      return Number(row?.n ?? 0);
    },

    async addMember(conversationId: string, userId: string, role: MemberRole): Promise<boolean> {
      const rows = await db
        .insert(conversationMembers)
        .values({ conversationId, userId, role })
        .onConflictDoNothing()
        .returning();
      return rows.length > 0;
    },

    async removeMember(conversationId: string, userId: string): Promise<boolean> {
      const rows = await db
        .delete(conversationMembers)
        .where(and(eq(conversationMembers.conversationId, conversationId), eq(conversationMembers.userId, userId)))
        .returning();
      return rows.length > 0;
    },

    async setRole(conversationId: string, userId: string, role: MemberRole): Promise<void> {
      await db
        .update(conversationMembers)
        .set({ role })
        .where(and(eq(conversationMembers.conversationId, conversationId), eq(conversationMembers.userId, userId)));
    },

    async rename(id: string, title: string): Promise<void> {
      await db.update(conversations).set({ title }).where(eq(conversations.id, id));
    },

    async listForUser(userId: string): Promise<ConversationWithMembers[]> {
      const rows = await db
        .select({ conversation: conversations })
        .from(conversationMembers)
        .innerJoin(conversations, eq(conversations.id, conversationMembers.conversationId))
        .where(eq(conversationMembers.userId, userId));
      const members = await membersOf(rows.map((r) => r.conversation.id));
      return rows.map((r) => ({ conversation: r.conversation, members: members.get(r.conversation.id) ?? [] }));
    },

    async idsForUser(userId: string): Promise<string[]> {
      const rows = await db
        .select({ id: conversationMembers.conversationId })
        .from(conversationMembers)
        .where(eq(conversationMembers.userId, userId));
      return rows.map((r) => r.id);
    },

    /** Rooms both users are members of. */
    async sharedRoomIds(x: string, y: string): Promise<string[]> {
      const rows = await db.execute<{ id: string }>(sql`
        select a.conversation_id as id from accounts.conversation_members a
          join accounts.conversation_members b on a.conversation_id = b.conversation_id
          join accounts.conversations c on c.id = a.conversation_id
        where a.user_id = ${x} and b.user_id = ${y} and c.kind = 'room'
        order by a.conversation_id`);
      return rows.rows.map((r) => r.id);
    },

    /** Whether two users share a conversation (presence visibility). */
    async shareConversation(x: string, y: string): Promise<boolean> {
      const rows = await db.execute(sql`
        select 1 from accounts.conversation_members a join accounts.conversation_members b
          on a.conversation_id = b.conversation_id
        where a.user_id = ${x} and b.user_id = ${y} limit 1`);
      return rows.rows.length > 0;
    },
  };
}
export type ConversationsRepository = ReturnType<typeof createConversationsRepository>;
