import type { Conversation } from '@chat/contracts';
import type { Summary } from '../clients/summaries.client';
import type { ConversationWithMembers } from '../repositories/conversations.repository';

export type ConversationChange = 'created' | 'updated' | 'member_added' | 'member_removed';
export type ConversationCore = Omit<Conversation, 'lastMessage' | 'unreadCount'>;

export const toConversationCore = (
  { conversation: c, members }: ConversationWithMembers,
  readMarkers: Record<string, string> = {},
): ConversationCore => ({
  id: c.id,
  kind: c.kind,
  title: c.title,
  members: members.map((m) => ({
    userId: m.userId,
    username: m.username,
    displayName: m.displayName,
    role: m.role,
    lastReadMessageId: readMarkers[m.userId] ?? null,
  })),
  createdAt: c.createdAt.toISOString(),
});

export const toConversation = (c: ConversationWithMembers, summary?: Summary): Conversation => ({
  ...toConversationCore(c, summary?.readMarkers),
  lastMessage: summary?.lastMessage ?? null,
  unreadCount: summary?.unreadCount ?? 0,
});

/** Latest activity first: the last message's time, else when the conversation was created. */
export function activityTime(c: ConversationWithMembers, summary?: Summary): number {
  const at = summary?.lastActivityAt ?? summary?.lastMessage?.createdAt;
  const t = at ? Date.parse(at) : NaN;
  return Number.isNaN(t) ? c.conversation.createdAt.getTime() : Math.max(t, c.conversation.createdAt.getTime());
}

export function sortByActivity(list: Array<{ c: ConversationWithMembers; s?: Summary }>): Conversation[] {
  return list
    .map((x) => ({ view: toConversation(x.c, x.s), at: activityTime(x.c, x.s) }))
    .sort((a, b) => b.at - a.at || (a.view.id < b.view.id ? -1 : 1))
    .map((x) => x.view);
}
