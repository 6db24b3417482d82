import type { EventPayload, User } from '@chat/contracts';
import type { PendingEvent } from '../outbox/outbox';
import { toConversationCore, type ConversationChange } from './conversation-view';
import type { ConversationWithMembers } from '../repositories/conversations.repository';
import { createE2eRepository } from '../repositories/e2e.repository';
import type { Executor } from '../repositories/types';

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

/**
 * `conversation.changed`. `encrypted` is required here so that no change forgets it: the gateways'
 * membership caches take the flag from the event instead of asking accounts (a new conversation:
 * false; otherwise `encryptedIn` read under the conversation's row lock, which orders it against
 * `POST /api/v1/e2e/groups/:id`).
 */
export function conversationEvent(
  change: ConversationChange,
  c: ConversationWithMembers,
  extra: { removedUserIds?: string[]; userId?: string; encrypted: boolean },
): PendingEvent {
  const payload: EventPayload<'conversation.changed'> = {
    type: change,
    conversation: toConversationCore(c),
    memberIds: c.members.map((m) => m.userId),
    removedUserIds: extra.removedUserIds ?? [],
    ...(extra.userId ? { userId: extra.userId } : {}),
    encrypted: extra.encrypted,
  };
  return { type: 'conversation.changed', payload };
}

/** Whether a conversation is end-to-end encrypted, read in the caller's transaction. */
export const encryptedIn = async (tx: Executor, conversationId: string): Promise<boolean> =>
  (await createE2eRepository(tx).findGroup(conversationId)) !== null;
