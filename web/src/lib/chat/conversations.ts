import type { Conversation, Member, Message } from '@chat/contracts';
import { maxId, unreadAfterMessage } from './unread';

/** Member entries may carry names if the server adds them (an additive field); tolerate both. */
type NamedMember = Member & { username?: string; displayName?: string };
export interface KnownUser {
  id: string;
  username: string;
  displayName: string;
}

function activityTime(c: Conversation): number {
  const at = c.lastMessage ? Date.parse(c.lastMessage.createdAt) : NaN;
  const created = Date.parse(c.createdAt);
  if (Number.isNaN(at)) return Number.isNaN(created) ? 0 : created;
  return Math.max(at, Number.isNaN(created) ? 0 : created);
}

/** Latest activity first: the last message's time, else the creation time (as the server sorts). */
export function sortConversations(list: readonly Conversation[]): Conversation[] {
  return list.slice().sort((a, b) => activityTime(b) - activityTime(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Inserts or replaces a conversation; fields a partial update lacks keep their current value. */
export function upsertConversation(
  list: readonly Conversation[],
  update: Omit<Conversation, 'lastMessage' | 'unreadCount'> &
    Partial<Pick<Conversation, 'lastMessage' | 'unreadCount'>>,
): Conversation[] {
  const current = list.find((c) => c.id === update.id);
  const merged: Conversation = {
    ...update,
    lastMessage: update.lastMessage ?? current?.lastMessage ?? null,
    unreadCount: update.unreadCount ?? current?.unreadCount ?? 0,
    members: update.members.map((m) => {
      const had = current?.members.find((x) => x.userId === m.userId);
      return { ...m, lastReadMessageId: maxId(m.lastReadMessageId, had?.lastReadMessageId) };
    }),
  };
  return sortConversations([...list.filter((c) => c.id !== update.id), merged]);
}

export function removeConversation(list: readonly Conversation[], id: string): Conversation[] {
  return list.filter((c) => c.id !== id);
}

/** A new message: the preview moves forward (never back to an older one), the unread count is the caller's. */
export function applyMessage(
  list: readonly Conversation[],
  message: Message,
  unreadCount: (c: Conversation) => number,
): Conversation[] {
  const c = list.find((x) => x.id === message.conversationId);
  if (!c) return list.slice();
  const newer = !c.lastMessage || message.id > c.lastMessage.id;
  const next: Conversation = { ...c, lastMessage: newer ? message : c.lastMessage, unreadCount: unreadCount(c) };
  return sortConversations([...list.filter((x) => x.id !== c.id), next]);
}

/** A read marker only moves forward. */
export function applyRead(
  list: readonly Conversation[],
  conversationId: string,
  userId: string,
  messageId: string,
): Conversation[] {
  return list.map((c) =>
    c.id !== conversationId
      ? c
      : {
          ...c,
          members: c.members.map((m) =>
            m.userId === userId ? { ...m, lastReadMessageId: maxId(m.lastReadMessageId, messageId) } : m,
          ),
        },
  );
}

export function setUnread(list: readonly Conversation[], conversationId: string, unreadCount: number): Conversation[] {
  return list.map((c) => (c.id === conversationId ? { ...c, unreadCount } : c));
}

export function userName(id: string, users: ReadonlyMap<string, KnownUser>, member?: NamedMember): string {
  const u = users.get(id);
  return u?.displayName || u?.username || member?.displayName || member?.username || `user ${id.slice(0, 8)}`;
}

/** A room's title; a direct conversation is named after the other person. */
export function conversationTitle(c: Conversation, me: string, users: ReadonlyMap<string, KnownUser>): string {
  if (c.kind === 'room') return c.title ?? 'Untitled room';
  const other: NamedMember | undefined = c.members.find((m) => m.userId !== me);
  return other ? userName(other.userId, users, other) : (c.title ?? 'Direct conversation');
}

export function otherMemberId(c: Conversation, me: string): string | null {
  return c.kind === 'direct' ? (c.members.find((m) => m.userId !== me)?.userId ?? null) : null;
}

/**
 * "Seen" for a direct conversation, "Seen by N" for a room: the other members whose read marker
 * is at or after the message. 0 means not seen yet.
 */
export function seenBy(c: Pick<Conversation, 'members'>, me: string, messageId: string): number {
  return c.members.filter((m) => m.userId !== me && m.lastReadMessageId !== null && m.lastReadMessageId >= messageId)
    .length;
}

export function myRole(c: Conversation, me: string): Member['role'] | null {
  return c.members.find((m) => m.userId === me)?.role ?? null;
}

/**
 * A list fetched from the server is a snapshot of what was committed when the server read it; history
 * is stored asynchronously, so messages that arrived live while the request was in flight may be
 * missing from its `lastMessage` and `unreadCount` (applying the snapshot as is would lose them from
 * the count for good). Each live message newer than its conversation's `lastMessage` in the snapshot
 * is one the snapshot has not counted: apply it again, oldest first (live messages can arrive out of
 * id order, and a duplicate is then no longer newer).
 */
export function reapplyLive(list: readonly Conversation[], live: readonly Message[], me: string): Conversation[] {
  let out = list.slice();
  for (const m of [...live].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const c = out.find((x) => x.id === m.conversationId);
    if (!c || (c.lastMessage && m.id <= c.lastMessage.id)) continue;
    out = applyMessage(out, m, (conv) => unreadAfterMessage(conv.unreadCount, m, me, false));
  }
  return out;
}
