import type { EventPayload, User } from '@chat/contracts';
import type { PendingEvent } from '../outbox/outbox';
import { toConversationCore, type ConversationChange } from './conversation-view';
import type { ConversationWithMembers } from '../repositories/conversations.repository';

/**
 * The `friends` socket payloads, carried by `friendship.changed` to both users of the pair (the same
 * payload to each, so it names both):
 * - `{ type: 'request', request: { id, from: User, to: User, createdAt } }`
 * - `{ type: 'accepted', userIds, users: [User, User], since, conversationId, requestId }`
 * - `{ type: 'removed', userIds, userId, reason: 'declined'|'cancelled'|'unfriended', requestId? }`
 *   where `userId` is who acted. A block shows up to the blocked user exactly like an unfriend or a
 *   declined request, so it learns nothing more than that.
 */
export const friendRequestEvent = (req: { id: string; createdAt: Date }, from: User, to: User): PendingEvent => ({
  type: 'friendship.changed',
  payload: {
    userIds: [from.id, to.id],
    event: { type: 'request', request: { id: req.id, from, to, createdAt: req.createdAt.toISOString() } },
  },
});

export const friendAcceptedEvent = (
  users: [User, User],
  since: Date,
  conversationId: string,
  requestId: string | null,
): PendingEvent => ({
  type: 'friendship.changed',
  payload: {
    userIds: users.map((u) => u.id),
    event: {
      type: 'accepted',
      userIds: users.map((u) => u.id),
      users,
      since: since.toISOString(),
      conversationId,
      requestId,
    },
  },
});

export const friendRemovedEvent = (
  pair: [string, string],
  actorId: string,
  reason: 'declined' | 'cancelled' | 'unfriended',
  requestId?: string,
): PendingEvent => ({
  type: 'friendship.changed',
  payload: {
    userIds: pair,
    event: { type: 'removed', userIds: pair, userId: actorId, reason, ...(requestId ? { requestId } : {}) },
  },
});

export function conversationEvent(
  change: ConversationChange,
  c: ConversationWithMembers,
  extra: { removedUserIds?: string[]; userId?: string } = {},
): PendingEvent {
  const payload: EventPayload<'conversation.changed'> = {
    type: change,
    conversation: toConversationCore(c),
    memberIds: c.members.map((m) => m.userId),
    removedUserIds: extra.removedUserIds ?? [],
    ...(extra.userId ? { userId: extra.userId } : {}),
  };
  return { type: 'conversation.changed', payload };
}
