import type { Conversation, Message } from '@chat/contracts';

/** Message ids sort as strings in acceptance order. */
export function maxId(a: string | null | undefined, b: string | null | undefined): string | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return a > b ? a : b;
}

export function totalUnread(conversations: readonly Pick<Conversation, 'unreadCount'>[]): number {
  return conversations.reduce((n, c) => n + Math.max(0, c.unreadCount), 0);
}

/** "(3) Chat" while something is unread, so the tab shows it. */
export function tabTitle(base: string, unread: number): string {
  return unread > 0 ? `(${unread > 99 ? '99+' : unread}) ${base}` : base;
}

/**
 * The unread count after a NEW message (the caller only passes messages the merge reported as
 * added, so a duplicate never counts twice). Own messages and messages seen as they arrive do not
 * count; an own message means the sender has read up to there.
 */
export function unreadAfterMessage(current: number, message: Pick<Message, 'senderId'>, me: string, seenNow: boolean): number {
  if (message.senderId === me) return 0;
  return seenNow ? 0 : current + 1;
}

/** Unread messages of a loaded timeline after the reader's marker: what to show if the server count is stale. */
export function countUnread(messages: readonly Pick<Message, 'id' | 'senderId'>[], me: string, lastReadId: string | null): number {
  return messages.filter((m) => m.id && m.senderId !== me && (!lastReadId || m.id > lastReadId)).length;
}
