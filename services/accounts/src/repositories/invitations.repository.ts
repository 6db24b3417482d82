import { and, desc, eq, or } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Invitation } from '@chat/contracts';
import type { Executor } from './types';
import { conversations, roomInvitations, users } from './schema';
import { toUser } from './users.repository';

export type InvitationRow = typeof roomInvitations.$inferSelect;

const inviter = alias(users, 'inviter');
const invitee = alias(users, 'invitee');

/** Pending room invitations. */
export function createInvitationsRepository(db: Executor) {
  const view = () =>
    db
      .select({
        invitation: roomInvitations,
        conversation: { id: conversations.id, title: conversations.title },
        from: inviter,
        to: invitee,
      })
      .from(roomInvitations)
      .innerJoin(conversations, eq(conversations.id, roomInvitations.conversationId))
      .innerJoin(inviter, eq(inviter.id, roomInvitations.inviterId))
      .innerJoin(invitee, eq(invitee.id, roomInvitations.inviteeId));
  type ViewRow = Awaited<ReturnType<ReturnType<typeof view>['execute']>>[number];
  const toInvitation = (r: ViewRow): Invitation => ({
    id: r.invitation.id,
    conversation: r.conversation,
    from: toUser(r.from),
    to: toUser(r.to),
    createdAt: r.invitation.createdAt.toISOString(),
  });

  return {
    /** Null when that user already has a pending invitation to that room. */
    async create(conversationId: string, inviterId: string, inviteeId: string): Promise<InvitationRow | null> {
      const rows = await db
        .insert(roomInvitations)
        .values({ conversationId, inviterId, inviteeId })
        .onConflictDoNothing()
        .returning();
      return rows[0] ?? null;
    },
    async find(id: string): Promise<Invitation | null> {
      const rows = await view().where(eq(roomInvitations.id, id));
      return rows[0] ? toInvitation(rows[0]) : null;
    },
    async delete(id: string): Promise<boolean> {
      return (await db.delete(roomInvitations).where(eq(roomInvitations.id, id)).returning()).length > 0;
    },
    /** Invitations between two users in either direction (a block ends them). */
    async deleteBetween(x: string, y: string): Promise<InvitationRow[]> {
      return db
        .delete(roomInvitations)
        .where(
          or(
            and(eq(roomInvitations.inviterId, x), eq(roomInvitations.inviteeId, y)),
            and(eq(roomInvitations.inviterId, y), eq(roomInvitations.inviteeId, x)),
          ),
        )
        .returning();
    },
    async deleteFor(conversationId: string, inviteeId: string): Promise<void> {
      await db
        .delete(roomInvitations)
        .where(and(eq(roomInvitations.conversationId, conversationId), eq(roomInvitations.inviteeId, inviteeId)));
    },
    async listFor(userId: string): Promise<{ incoming: Invitation[]; outgoing: Invitation[] }> {
      const rows = await view()
        .where(or(eq(roomInvitations.inviteeId, userId), eq(roomInvitations.inviterId, userId)))
        .orderBy(desc(roomInvitations.createdAt));
      const all = rows.map(toInvitation);
      return { incoming: all.filter((i) => i.to.id === userId), outgoing: all.filter((i) => i.from.id === userId) };
    },
    toInvitation,
  };
}
