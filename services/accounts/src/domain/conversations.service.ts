import { AppError, type Conversation, type MemberRole } from '@chat/contracts';
import { transact, type Deps } from '../deps';
import type { Tx } from '../repositories/types';
import { enqueueAll } from '../outbox/outbox';
import {
  createConversationsRepository,
  type ConversationWithMembers,
  type Membership,
} from '../repositories/conversations.repository';
import { createFriendsRepository } from '../repositories/friends.repository';
import { createInvitationsRepository } from '../repositories/invitations.repository';
import { createUsersRepository } from '../repositories/users.repository';
import { sortByActivity, toConversation } from './conversation-view';
import { conversationEvent, encryptedIn } from './events';
import { nextOwner } from './ownership';
import { roomEventMessage } from './room-events';

/**
 * Visibility rule: a conversation the caller is not a member of does not exist for them, so every
 * route answers NOT_FOUND for it (never FORBIDDEN, which would confirm the id exists). FORBIDDEN is
 * for members who lack the role for an action, or for actions a direct conversation does not allow.
 */
const notFound = () => new AppError('NOT_FOUND', 'conversation not found');

async function withSummary(ctx: Deps, me: string, c: ConversationWithMembers): Promise<Conversation> {
  const s = await ctx.summaries.fetch(me, [c.conversation.id]);
  return toConversation(c, s.get(c.conversation.id));
}

export async function listConversations(ctx: Deps, me: string): Promise<Conversation[]> {
  const list = await createConversationsRepository(ctx.db).listForUser(me);
  const summaries = await ctx.summaries.fetch(
    me,
    list.map((c) => c.conversation.id),
  );
  return sortByActivity(list.map((c) => ({ c, s: summaries.get(c.conversation.id) })));
}

export async function openDirect(ctx: Deps, me: string, otherId: string, traceId: string): Promise<Conversation> {
  if (otherId === me) throw new AppError('VALIDATION', 'a direct conversation needs another user');
  if (!(await createUsersRepository(ctx.db).findById(otherId))) throw new AppError('NOT_FOUND', 'user not found');
  const c = await transact(ctx, async (tx) => {
    const convs = createConversationsRepository(tx);
    const existing = await convs.findDirect(me, otherId);
    // The history of a former friend stays reachable; only a new pair needs the friendship.
    if (!existing && !(await createFriendsRepository(tx).areFriends(me, otherId))) {
      throw new AppError('FORBIDDEN', 'direct conversations are for friends');
    }
    const { conversation, created } = await convs.getOrCreateDirect(me, otherId);
    const full = (await convs.withMembers(conversation.id))!;
    if (created) await enqueueAll(tx, [conversationEvent('created', full, { encrypted: false })], traceId);
    return full;
  });
  return withSummary(ctx, me, c);
}

export async function createRoom(
  ctx: Deps,
  me: string,
  title: string,
  memberIds: string[],
  traceId: string,
): Promise<Conversation> {
  const others = [...new Set(memberIds)].filter((id) => id !== me);
  if (others.length + 1 > ctx.config.ROOM_MAX_MEMBERS) {
    throw new AppError('VALIDATION', `a room holds at most ${ctx.config.ROOM_MAX_MEMBERS} members`);
  }
  const found = await createUsersRepository(ctx.db).findManyByIds(others);
  if (found.length !== others.length) throw new AppError('NOT_FOUND', 'user not found');
  const c = await transact(ctx, async (tx) => {
    await requireConsent(tx, me, others, [me, ...others]);
    const convs = createConversationsRepository(tx);
    const row = await convs.createRoom(title, [
      { userId: me, role: 'owner' },
      ...others.map((userId) => ({ userId, role: 'member' as const })),
    ]);
    const full = (await convs.withMembers(row.id))!;
    await enqueueAll(
      tx,
      [
        conversationEvent('created', full, { encrypted: false }),
        roomEventMessage(row.id, me, { type: 'created', title, ...names(full, me) }),
      ],
      traceId,
    );
    return full;
  });
  return toConversation(c);
}

/** The display names a room event carries, from the member list that holds those people. */
export function names(
  c: ConversationWithMembers,
  actorId: string,
  userId?: string,
): { actorName?: string; userName?: string } {
  const name = (id: string) => c.members.find((m) => m.userId === id)?.displayName;
  const actorName = name(actorId);
  const userName = userId ? name(userId) : undefined;
  return { ...(actorName ? { actorName } : {}), ...(userName ? { userName } : {}) };
}

/**
 * Joining a room takes the newcomer's consent: the caller's friends may be added directly (the
 * friendship is the consent), anyone else gets an invitation they accept or not.
 */
async function requireConsent(tx: Tx, me: string, newIds: string[], memberIds: string[]): Promise<void> {
  const friends = createFriendsRepository(tx);
  if ((await friends.notFriendsOf(me, newIds)).length) {
    throw new AppError('FORBIDDEN', 'only your friends can be added directly: invite the others');
  }
  await refuseBlocked(tx, newIds, memberIds);
}

/**
 * A blocked pair never shares a room: no one joins a room holding someone they blocked or who blocked
 * them (the refusal does not say who, so the caller learns no more than "cannot add").
 */
export async function refuseBlocked(tx: Tx, newIds: string[], memberIds: string[]): Promise<void> {
  if (
    await createFriendsRepository(tx).anyBlockBetween(
      newIds,
      memberIds.filter((id) => !newIds.includes(id)).concat(newIds),
    )
  ) {
    throw new AppError('FORBIDDEN', 'cannot add this user');
  }
}

/**
 * Blocking separates the pair in every room they share, so the blocked user reaches the blocker
 * nowhere: in a room where the blocker could remove the blocked user (owner: anyone; admin: plain
 * members), the blocked user is removed; elsewhere the blocker leaves. Runs in the block's transaction.
 */
export async function separate(tx: Tx, blocker: string, blocked: string, traceId: string): Promise<void> {
  const convs = createConversationsRepository(tx);
  for (const id of await convs.sharedRoomIds(blocker, blocked)) {
    await convs.lock(id);
    const full = (await convs.withMembers(id))!;
    const mine = full.members.find((m) => m.userId === blocker);
    const theirs = full.members.find((m) => m.userId === blocked);
    if (!mine || !theirs) continue;
    const canRemove = mine.role === 'owner' || (mine.role === 'admin' && theirs.role === 'member');
    const leaving = canRemove ? blocked : blocker;
    await convs.removeMember(id, leaving);
    const heir = nextOwner(full.members.filter((m) => m.userId !== leaving));
    if (heir) await convs.setRole(id, heir.userId, 'owner');
    const after = (await convs.withMembers(id))!;
    await enqueueAll(
      tx,
      [
        conversationEvent('member_removed', after, {
          removedUserIds: [leaving],
          userId: leaving,
          encrypted: await encryptedIn(tx, id),
        }),
      ],
      traceId,
    );
  }
}

/** Locks the conversation and returns it with the caller's membership; NOT_FOUND for non-members. */
export async function lockAsMember(
  tx: Tx,
  id: string,
  me: string,
): Promise<{ full: ConversationWithMembers; mine: Membership }> {
  const convs = createConversationsRepository(tx);
  if (!(await convs.lock(id))) throw notFound();
  const full = (await convs.withMembers(id))!;
  const mine = full.members.find((m) => m.userId === me);
  if (!mine) throw notFound();
  return { full, mine };
}

export const requireRoom = (c: ConversationWithMembers) => {
  if (c.conversation.kind !== 'room') throw new AppError('FORBIDDEN', 'a direct conversation cannot be changed');
};
export const requireManager = (m: Membership) => {
  if (m.role === 'member') throw new AppError('FORBIDDEN', 'only the owner or an admin can do this');
};
/** The room has a free place (ROOM_MAX_MEMBERS). */
export const requireSpace = (ctx: Pick<Deps, 'config'>, c: ConversationWithMembers) => {
  if (c.members.length >= ctx.config.ROOM_MAX_MEMBERS)
    throw new AppError('CONFLICT', `the room is full (${ctx.config.ROOM_MAX_MEMBERS} members)`);
};

/**
 * Locks room `id` for `me` to bring `userId` in (adding or inviting): a room, `me` its owner or an admin,
 * the user exists, is not a member yet, and there is a free place. Consent and blocks stay the caller's
 * (adding takes friendship, inviting only that nobody is blocked).
 */
export async function lockForNewMember(
  tx: Tx,
  ctx: Pick<Deps, 'config'>,
  id: string,
  me: string,
  userId: string,
): Promise<ConversationWithMembers> {
  const { full, mine } = await lockAsMember(tx, id, me);
  requireRoom(full);
  requireManager(mine);
  if (!(await createUsersRepository(tx).findById(userId))) throw new AppError('NOT_FOUND', 'user not found');
  if (full.members.some((m) => m.userId === userId)) throw new AppError('CONFLICT', 'already a member');
  requireSpace(ctx, full);
  return full;
}

export async function getConversation(ctx: Deps, me: string, id: string): Promise<Conversation> {
  const c = await createConversationsRepository(ctx.db).withMembers(id);
  if (!c || !c.members.some((m) => m.userId === me)) throw notFound();
  return withSummary(ctx, me, c);
}

export async function addMember(
  ctx: Deps,
  me: string,
  id: string,
  userId: string,
  traceId: string,
): Promise<Conversation> {
  const c = await transact(ctx, async (tx) => {
    const full = await lockForNewMember(tx, ctx, id, me, userId);
    await requireConsent(
      tx,
      me,
      [userId],
      full.members.map((m) => m.userId),
    );
    const convs = createConversationsRepository(tx);
    await convs.addMember(id, userId, 'member');
    await createInvitationsRepository(tx).deleteFor(id, userId);
    const after = (await convs.withMembers(id))!;
    await enqueueAll(
      tx,
      [
        conversationEvent('member_added', after, { userId, encrypted: await encryptedIn(tx, id) }),
        roomEventMessage(id, me, { type: 'joined', userId, ...names(after, me, userId) }),
      ],
      traceId,
    );
    return after;
  });
  return withSummary(ctx, me, c);
}

/**
 * Removing oneself is leaving (any role). Removing another takes the owner (anyone) or an admin
 * (plain members only). When the last owner goes, ownership passes on (see `nextOwner`).
 */
export async function removeMember(ctx: Deps, me: string, id: string, userId: string, traceId: string): Promise<void> {
  await transact(ctx, async (tx) => {
    const { full, mine } = await lockAsMember(tx, id, me);
    requireRoom(full);
    const target = full.members.find((m) => m.userId === userId);
    if (!target) throw new AppError('NOT_FOUND', 'not a member of this conversation');
    if (userId !== me) {
      requireManager(mine);
      if (mine.role === 'admin' && target.role !== 'member')
        throw new AppError('FORBIDDEN', 'an admin can remove plain members only');
    }
    const convs = createConversationsRepository(tx);
    await convs.removeMember(id, userId);
    const remaining = full.members.filter((m) => m.userId !== userId);
    const heir = nextOwner(remaining);
    if (heir) await convs.setRole(id, heir.userId, 'owner');
    const after = (await convs.withMembers(id))!;
    const happened = [
      roomEventMessage(id, me, { type: userId === me ? 'left' : 'removed', userId, ...names(full, me, userId) }),
    ];
    if (heir)
      happened.push(
        roomEventMessage(id, me, { type: 'owner_changed', userId: heir.userId, ...names(full, me, heir.userId) }),
      );
    await enqueueAll(
      tx,
      [
        conversationEvent('member_removed', after, {
          removedUserIds: [userId],
          userId,
          encrypted: await encryptedIn(tx, id),
        }),
        ...happened,
      ],
      traceId,
    );
  });
}

/** Owners only: promote to admin or owner, demote, as long as the room keeps an owner. */
export async function setRole(
  ctx: Deps,
  me: string,
  id: string,
  userId: string,
  role: MemberRole,
  traceId: string,
): Promise<Conversation> {
  const c = await transact(ctx, async (tx) => {
    const { full, mine } = await lockAsMember(tx, id, me);
    requireRoom(full);
    if (mine.role !== 'owner') throw new AppError('FORBIDDEN', 'only an owner can change roles');
    const target = full.members.find((m) => m.userId === userId);
    if (!target) throw new AppError('NOT_FOUND', 'not a member of this conversation');
    const owners = full.members.filter((m) => m.role === 'owner' && m.userId !== userId).length;
    if (role !== 'owner' && owners === 0)
      throw new AppError('CONFLICT', 'a room needs an owner: make someone else owner first');
    const convs = createConversationsRepository(tx);
    await convs.setRole(id, userId, role);
    const after = (await convs.withMembers(id))!;
    const promoted =
      role === 'owner' && target.role !== 'owner'
        ? [roomEventMessage(id, me, { type: 'owner_changed', userId, ...names(full, me, userId) })]
        : [];
    await enqueueAll(
      tx,
      [conversationEvent('updated', after, { userId, encrypted: await encryptedIn(tx, id) }), ...promoted],
      traceId,
    );
    return after;
  });
  return withSummary(ctx, me, c);
}

export async function rename(ctx: Deps, me: string, id: string, title: string, traceId: string): Promise<Conversation> {
  const c = await transact(ctx, async (tx) => {
    const { full, mine } = await lockAsMember(tx, id, me);
    requireRoom(full);
    requireManager(mine);
    const convs = createConversationsRepository(tx);
    await convs.rename(id, title);
    const after = (await convs.withMembers(id))!;
    const renamed =
      full.conversation.title !== title
        ? [roomEventMessage(id, me, { type: 'renamed', title, ...names(full, me) })]
        : [];
    await enqueueAll(
      tx,
      [conversationEvent('updated', after, { encrypted: await encryptedIn(tx, id) }), ...renamed],
      traceId,
    );
    return after;
  });
  return withSummary(ctx, me, c);
}
