import { AppError } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import type { AccountsClient } from '../clients/accounts.client';
import type { MembersRepository } from '../repositories/members.repository';
import type { Db } from '../repositories/types';

/** Bounds the positive cache; past it the cache starts over (answers are cheap to learn again). */
const MAX_CACHED = 100_000;

/**
 * "May this user read this conversation?" Answered from the members table (kept from
 * `conversation.changed` events); on a conversation never seen here, from accounts, whose answer is
 * stored. Positive answers are cached for `cacheMs`: a removed member may keep reading for that long.
 * Non-members and unknown conversations get the same NOT_FOUND, so existence is not leaked.
 */
export function createMembership(deps: {
  db: Db;
  members: MembersRepository;
  accounts: AccountsClient;
  cacheMs: number;
  logger: Logger;
}) {
  // conversation → user → cached until (ms): a change to a conversation drops all of its entries.
  const cache = new Map<string, Map<string, number>>();
  let cached = 0;
  const lookups = new Map<string, Promise<void>>();
  const notFound = () => new AppError('NOT_FOUND', 'conversation not found');

  /** Concurrent misses on one conversation share one accounts call. */
  const learn = (conversationId: string): Promise<void> => {
    let p = lookups.get(conversationId);
    if (!p) {
      p = (async () => {
        const syncedAt = new Date();
        const memberIds = await deps.accounts.conversationMembers(conversationId);
        if (memberIds === null) return;
        // One transaction: a reader checking meanwhile must not see the conversation known with its
        // members not yet written (NOT_FOUND for a member).
        await deps.db.transaction((tx) => deps.members.replace(tx, conversationId, memberIds, syncedAt));
        deps.logger.debug({ conversationId, members: memberIds.length }, 'membership learnt from accounts');
      })().finally(() => lookups.delete(conversationId));
      lookups.set(conversationId, p);
    }
    return p;
  };

  return {
    async assertMember(conversationId: string, userId: string): Promise<void> {
      const until = cache.get(conversationId)?.get(userId);
      if (until !== undefined && until > Date.now()) return;
      let answer = await deps.members.check(conversationId, userId);
      if (answer === 'unknown') {
        await learn(conversationId);
        answer = (await deps.members.isMember(conversationId, userId)) ? 'member' : 'not_member';
      }
      if (answer !== 'member') {
        if (cache.get(conversationId)?.delete(userId)) cached--;
        throw notFound();
      }
      if (deps.cacheMs > 0) {
        if (cached >= MAX_CACHED) {
          cache.clear();
          cached = 0;
        }
        let users = cache.get(conversationId);
        if (!users) cache.set(conversationId, (users = new Map<string, number>()));
        if (!users.has(userId)) cached++;
        users.set(userId, Date.now() + deps.cacheMs);
      }
    },

    /** A membership change seen by this process takes effect at once here (other instances: cacheMs). */
    forget(conversationId: string): void {
      cached -= cache.get(conversationId)?.size ?? 0;
      cache.delete(conversationId);
    },
  };
}
export type Membership = ReturnType<typeof createMembership>;
