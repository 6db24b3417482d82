import { AppError, type User } from '@chat/contracts';
import { transact, type Deps } from '../deps';
import type { Tx } from '../repositories/types';
import { enqueueAll, type PendingEvent } from '../outbox/outbox';
import { createConversationsRepository } from '../repositories/conversations.repository';
import { createFriendsRepository } from '../repositories/friends.repository';
import { createInvitationsRepository } from '../repositories/invitations.repository';
import { separate } from './conversations.service';
import { dropInvitationEvent } from './invitations.service';
import { createUsersRepository, toUser } from '../repositories/users.repository';
import { withPresence } from '../presence/presence.view';
import { conversationEvent, friendAcceptedEvent, friendRemovedEvent, friendRequestEvent } from './events';

export interface FriendView {
  user: User;
  since: string;
  online: boolean;
  lastSeenAt: string | null;
  /** The pair's direct conversation (an addition to the contract's Friend). */
  conversationId: string | null;
}

/** Presence is filled in by `withPresence` (src/presence) where a view leaves the service. */
const friendView = (user: User, since: Date, conversationId: string | null): FriendView => ({
  user,
  since: since.toISOString(),
  online: false,
  lastSeenAt: null,
  conversationId,
});

const refused = () => new AppError('FORBIDDEN', 'cannot send a friend request to this user');

/** Makes the pair friends and ensures their direct conversation, inside the caller's transaction. */
async function befriend(
  tx: Tx,
  me: User,
  other: User,
  requestId: string | null,
): Promise<{ view: FriendView; events: PendingEvent[] }> {
  const friends = createFriendsRepository(tx);
  const convs = createConversationsRepository(tx);
  const since = (await friends.createFriendship(me.id, other.id)) ?? new Date();
  const { conversation, created } = await convs.getOrCreateDirect(me.id, other.id);
  const events: PendingEvent[] = [friendAcceptedEvent([other, me], since, conversation.id, requestId)];
  if (created)
    events.push(conversationEvent('created', (await convs.withMembers(conversation.id))!, { encrypted: false }));
  return { view: friendView(other, since, conversation.id), events };
}

async function requireUser(ctx: Deps, id: string): Promise<User> {
  const row = await createUsersRepository(ctx.db).findById(id);
  if (!row) throw new AppError('NOT_FOUND', 'user not found');
  return toUser(row);
}

export async function listFriends(ctx: Deps, me: string): Promise<FriendView[]> {
  const rows = await createFriendsRepository(ctx.db).listFriends(me);
  return withPresence(
    ctx.db,
    rows.map((r) => friendView(toUser(r.user), r.since, r.conversationId)),
  );
}

export async function listRequests(ctx: Deps, me: string) {
  const rows = await createFriendsRepository(ctx.db).listRequests(me);
  return {
    incoming: rows
      .filter((r) => r.request.toUserId === me)
      .map((r) => ({ id: r.request.id, from: toUser(r.other), createdAt: r.request.createdAt.toISOString() })),
    outgoing: rows
      .filter((r) => r.request.fromUserId === me)
      .map((r) => ({ id: r.request.id, to: toUser(r.other), createdAt: r.request.createdAt.toISOString() })),
  };
}

export type SendResult =
  { kind: 'requested'; request: { id: string; to: User; createdAt: string } } | { kind: 'friends'; friend: FriendView };

export async function sendRequest(ctx: Deps, meId: string, username: string, traceId: string): Promise<SendResult> {
  const users = createUsersRepository(ctx.db);
  const [meRow, otherRow] = await Promise.all([users.findById(meId), users.findByUsername(username)]);
  if (!meRow) throw new AppError('UNAUTHENTICATED', 'your account no longer exists');
  if (!otherRow) throw new AppError('NOT_FOUND', 'user not found');
  if (otherRow.id === meId) throw new AppError('VALIDATION', 'you cannot send a friend request to yourself');
  const me = toUser(meRow);
  const other = toUser(otherRow);
  const result = await transact(ctx, async (tx): Promise<SendResult> => {
    const friends = createFriendsRepository(tx);
    await friends.lockPair(me.id, other.id);
    if (await friends.hasBlocked(other.id, me.id)) throw refused();
    if (await friends.hasBlocked(me.id, other.id))
      throw new AppError('FORBIDDEN', 'you blocked this user; unblock them first');
    if (await friends.areFriends(me.id, other.id)) throw new AppError('CONFLICT', 'you are already friends');
    const theirs = await friends.findRequestBetween(other.id, me.id);
    if (theirs) {
      // They already asked: asking back is accepting.
      await friends.deleteRequest(theirs.id);
      const { view, events } = await befriend(tx, me, other, theirs.id);
      await enqueueAll(tx, events, traceId);
      return { kind: 'friends', friend: view };
    }
    const req = await friends.createRequest(me.id, other.id);
    if (!req) throw new AppError('CONFLICT', 'a friend request to this user is already pending');
    await enqueueAll(tx, [friendRequestEvent(req, me, other)], traceId);
    return { kind: 'requested', request: { id: req.id, to: other, createdAt: req.createdAt.toISOString() } };
  });
  // Asking back is accepting: the new friend's presence is filled in as on accept (not a constant offline).
  return result.kind === 'friends'
    ? { kind: 'friends', friend: (await withPresence(ctx.db, [result.friend]))[0]! }
    : result;
}

export async function acceptRequest(ctx: Deps, meId: string, requestId: string, traceId: string): Promise<FriendView> {
  const req = await createFriendsRepository(ctx.db).findRequest(requestId);
  if (!req || req.toUserId !== meId) throw new AppError('NOT_FOUND', 'friend request not found');
  const [me, other] = await Promise.all([requireUser(ctx, meId), requireUser(ctx, req.fromUserId)]);
  const view = await transact(ctx, async (tx) => {
    const friends = createFriendsRepository(tx);
    await friends.lockPair(meId, other.id);
    // Decided under the pair lock: a concurrent accept, decline or cancel already removed it.
    if (!(await friends.deleteRequest(requestId))) throw new AppError('NOT_FOUND', 'friend request not found');
    const { view, events } = await befriend(tx, me, other, requestId);
    await enqueueAll(tx, events, traceId);
    return view;
  });
  return (await withPresence(ctx.db, [view]))[0]!;
}

/** Decline (the recipient) or cancel (the sender): either way the request is gone. */
export async function dropRequest(
  ctx: Deps,
  meId: string,
  requestId: string,
  as: 'recipient' | 'sender',
  traceId: string,
): Promise<void> {
  const req = await createFriendsRepository(ctx.db).findRequest(requestId);
  const mine = req && (as === 'recipient' ? req.toUserId : req.fromUserId) === meId;
  if (!req || !mine) throw new AppError('NOT_FOUND', 'friend request not found');
  await transact(ctx, async (tx) => {
    const friends = createFriendsRepository(tx);
    await friends.lockPair(req.fromUserId, req.toUserId);
    if (!(await friends.deleteRequest(requestId))) throw new AppError('NOT_FOUND', 'friend request not found');
    const reason = as === 'recipient' ? 'declined' : 'cancelled';
    await enqueueAll(tx, [friendRemovedEvent([req.fromUserId, req.toUserId], meId, reason, requestId)], traceId);
  });
}

export async function unfriend(ctx: Deps, meId: string, otherId: string, traceId: string): Promise<void> {
  await transact(ctx, async (tx) => {
    const friends = createFriendsRepository(tx);
    await friends.lockPair(meId, otherId);
    if (!(await friends.deleteFriendship(meId, otherId))) throw new AppError('NOT_FOUND', 'not friends with this user');
    await enqueueAll(tx, [friendRemovedEvent([meId, otherId], meId, 'unfriended')], traceId);
  });
}

/**
 * Blocking ends the friendship and any pending request between the two. What the blocked user sees
 * is an ordinary unfriend or declined request, and refusals afterwards.
 */
export async function block(ctx: Deps, meId: string, otherId: string, traceId: string): Promise<void> {
  if (meId === otherId) throw new AppError('VALIDATION', 'you cannot block yourself');
  await requireUser(ctx, otherId);
  await transact(ctx, async (tx) => {
    const friends = createFriendsRepository(tx);
    await friends.lockPair(meId, otherId);
    await friends.block(meId, otherId);
    const events: PendingEvent[] = [];
    for (const r of await friends.deleteRequestsBetween(meId, otherId)) {
      events.push(
        friendRemovedEvent([r.fromUserId, r.toUserId], meId, r.fromUserId === meId ? 'cancelled' : 'declined', r.id),
      );
    }
    if (await friends.deleteFriendship(meId, otherId))
      events.push(friendRemovedEvent([meId, otherId], meId, 'unfriended'));
    await enqueueAll(tx, events, traceId);
    // Nowhere else either: pending room invitations between them end, shared rooms are separated.
    const invitations = createInvitationsRepository(tx);
    for (const r of await invitations.deleteBetween(meId, otherId)) await dropInvitationEvent(tx, r, meId, traceId);
    await separate(tx, meId, otherId, traceId);
  });
}

export async function unblock(ctx: Deps, meId: string, otherId: string): Promise<void> {
  const done = await transact(ctx, (tx) => createFriendsRepository(tx).unblock(meId, otherId));
  if (!done) throw new AppError('NOT_FOUND', 'this user is not blocked');
}

export async function listBlocks(ctx: Deps, meId: string) {
  const rows = await createFriendsRepository(ctx.db).listBlocked(meId);
  return rows.map((r) => ({ user: toUser(r.user), createdAt: r.createdAt.toISOString() }));
}
