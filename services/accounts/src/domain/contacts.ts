import type { Executor } from '../db';
import { createConversationsRepository } from '../repositories/conversations.repository';
import { createFriendsRepository } from '../repositories/friends.repository';

/** Friends and everyone sharing a conversation with the user: who sees their presence. */
export async function contactIds(db: Executor, userId: string): Promise<string[]> {
  const [friends, coMembers] = await Promise.all([createFriendsRepository(db).friendIds(userId), createConversationsRepository(db).coMemberIds(userId)]);
  return [...new Set([...friends, ...coMembers])].filter((id) => id !== userId).sort();
}
