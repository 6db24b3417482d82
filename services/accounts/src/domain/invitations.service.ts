import { AppError, type Conversation, type Invitation } from '@chat/contracts';
import { transact, type Deps } from '../deps';
import type { Tx } from '../repositories/types';
import { enqueueAll, type PendingEvent } from '../outbox/outbox';
import { createConversationsRepository } from '../repositories/conversations.repository';
import { createInvitationsRepository, type InvitationRow } from '../repositories/invitations.repository';
import { createUsersRepository, toUser } from '../repositories/users.repository';
import { toConversation } from './conversation-view';
import { lockForNewMember, names, refuseBlocked, requireSpace } from './conversations.service';
import { roomEventMessage } from './room-events';
import { conversationEvent, encryptedIn } from './events';

/**
 * Room invitations: joining a room takes the invitee's consent. An owner or admin invites anyone
 * (friends may also be added directly); the invitee accepts (and joins) or declines; the inviter may
 * cancel. Every change is sent to both as an `invitation` socket event.
 */
const invitationEvent = (
  type: 'created' | 'accepted' | 'declined' | 'cancelled',
  invitation: Invitation,
  actorId: string,
): PendingEvent => ({
  type: 'invitation.changed',
  payload: { userIds: [invitation.to.id, invitation.from.id], event: { type, invitation, userId: actorId } },
});

const notFound = () => new AppError('NOT_FOUND', 'invitation not found');

export async function invite(
  ctx: Deps,
  me: string,
  conversationId: string,
  userId: string,
  traceId: string,
): Promise<Invitation> {
  return transact(ctx, async (tx) => {
    const full = await lockForNewMember(tx, ctx, conversationId, me, userId);
    await refuseBlocked(
      tx,
      [userId],
      full.members.map((m) => m.userId),
    );
    const invitations = createInvitationsRepository(tx);
    const row = await invitations.create(conversationId, me, userId);
    if (!row) throw new AppError('CONFLICT', 'already invited');
    const invitation = (await invitations.find(row.id))!;
    await enqueueAll(tx, [invitationEvent('created', invitation, me)], traceId);
    return invitation;
  });
}

export async function listInvitations(ctx: Deps, me: string) {
  return createInvitationsRepository(ctx.db).listFor(me);
}

/** The invitee joins: the room must still take them (not full, nobody blocked either way). */
export async function accept(ctx: Deps, me: string, id: string, traceId: string): Promise<Conversation> {
  const c = await transact(ctx, async (tx) => {
    const invitations = createInvitationsRepository(tx);
    const invitation = await invitations.find(id);
    if (!invitation || invitation.to.id !== me) throw notFound();
    const convs = createConversationsRepository(tx);
    await convs.lock(invitation.conversation.id);
    // Locked: a concurrent accept, decline or cancel of the same invitation finds it gone.
    if (!(await invitations.delete(id))) throw notFound();
    const full = (await convs.withMembers(invitation.conversation.id))!;
    if (!full.members.some((m) => m.userId === me)) {
      requireSpace(ctx, full);
      await refuseBlocked(
        tx,
        [me],
        full.members.map((m) => m.userId),
      );
      await convs.addMember(full.conversation.id, me, 'member');
    }
    const after = (await convs.withMembers(full.conversation.id))!;
    await enqueueAll(
      tx,
      [
        conversationEvent('member_added', after, {
          userId: me,
          encrypted: await encryptedIn(tx, after.conversation.id),
        }),
        roomEventMessage(after.conversation.id, me, { type: 'joined', userId: me, ...names(after, me, me) }),
        invitationEvent('accepted', invitation, me),
      ],
      traceId,
    );
    return after;
  });
  return toConversation(c);
}

/** Decline (the invitee) or cancel (the inviter): either way the invitation is gone. */
export async function drop(
  ctx: Deps,
  me: string,
  id: string,
  as: 'invitee' | 'inviter',
  traceId: string,
): Promise<void> {
  await transact(ctx, async (tx) => {
    const invitations = createInvitationsRepository(tx);
    const invitation = await invitations.find(id);
    if (!invitation || (as === 'invitee' ? invitation.to.id : invitation.from.id) !== me) throw notFound();
    if (!(await invitations.delete(id))) throw notFound();
    await enqueueAll(tx, [invitationEvent(as === 'invitee' ? 'declined' : 'cancelled', invitation, me)], traceId);
  });
}

/** The event for an invitation a block ended: each side sees it as declined or cancelled. */
export async function dropInvitationEvent(
  tx: Tx,
  row: InvitationRow,
  blockerId: string,
  traceId: string,
): Promise<void> {
  const users = createUsersRepository(tx);
  const [from, to] = await Promise.all([users.findById(row.inviterId), users.findById(row.inviteeId)]);
  const conv = await createConversationsRepository(tx).findById(row.conversationId);
  if (!from || !to || !conv) return;
  const invitation: Invitation = {
    id: row.id,
    conversation: { id: conv.id, title: conv.title },
    from: toUser(from),
    to: toUser(to),
    createdAt: row.createdAt.toISOString(),
  };
  await enqueueAll(
    tx,
    [invitationEvent(row.inviteeId === blockerId ? 'declined' : 'cancelled', invitation, blockerId)],
    traceId,
  );
}
