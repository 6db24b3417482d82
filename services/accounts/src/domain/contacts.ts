import type { Executor } from '../db';
import { createConversationsRepository } from '../repositories/conversations.repository';
import { createFriendsRepository } from '../repositories/friends.repository';

/**
 * Friends and everyone sharing a conversation with the user: who may see their presence. Pushed
 * `presence` events go to friends and to co-members of conversations up to `maxRoomSize` members only:
 * pushing every change to every member of big rooms is quadratic (1,000 members connecting make a
 * million events), so there clients ask `GET /api/v1/presence` for the members they show.
 */
export async function contactIds(db: Executor, userId: string, maxRoomSize?: number): Promise<string[]> {
  const [friends, coMembers] = await Promise.all([createFriendsRepository(db).friendIds(userId), createConversationsRepository(db).coMemberIds(userId, maxRoomSize)]);
  return [...new Set([...friends, ...coMembers])].filter((id) => id !== userId).sort();
}
