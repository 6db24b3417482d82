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
export function unreadAfterMessage(
  current: number,
  message: Pick<Message, 'senderId'> & { kind?: Message['kind'] },
  me: string,
  seenNow: boolean,
): number {
  if (message.senderId === me) return 0;
  // Room events are history, not something to read.
  if (message.kind === 'event') return current;
  return seenNow ? 0 : current + 1;
}

/** Unread messages of a loaded timeline after the reader's marker: what to show if the server count is stale. */
export function countUnread(
  messages: readonly (Pick<Message, 'id' | 'senderId'> & { kind?: Message['kind'] })[],
  me: string,
  lastReadId: string | null,
): number {
  return messages.filter((m) => m.id && m.senderId !== me && m.kind !== 'event' && (!lastReadId || m.id > lastReadId))
    .length;
}

/**
 * Where the "New messages" divider goes when a conversation opens: before the first message someone
 * else sent after the reader's marker at that moment (room events do not count). Null when nothing
 * was unread.
 */
export function firstUnreadId(
  messages: readonly Pick<Message, 'id' | 'senderId' | 'kind'>[],
  me: string,
  lastReadId: string | null,
): string | null {
  return (
    messages.find((m) => m.id && m.senderId !== me && m.kind !== 'event' && (!lastReadId || m.id > lastReadId))?.id ??
    null
  );
}
