import { AppError } from '@chat/contracts';
import type { Deps } from '../../deps';
import { createConversationsRepository } from '../../repositories/conversations.repository';
import { createE2eRepository } from '../../repositories/e2e.repository';

/** The checks the end-to-end routes share: whose device, whose encrypted conversation. */
export function e2eAccess(ctx: Deps) {
  const repo = createE2eRepository(ctx.db);
  const convs = createConversationsRepository(ctx.db);
  return {
    repo,
    convs,
    /** NOT_FOUND unless the device is the user's. */
    ownDevice: async (user: string, deviceId: string): Promise<void> => {
      if (!(await repo.findDevice(user, deviceId))) throw new AppError('NOT_FOUND', 'no such device of yours');
    },
    /** The group of a conversation the user is in; NOT_FOUND for a non-member or a plaintext conversation. */
    memberGroup: async (user: string, conversationId: string) => {
      if (!(await convs.findMember(conversationId, user))) throw new AppError('NOT_FOUND', 'conversation not found');
      const group = await repo.findGroup(conversationId);
      if (!group) throw new AppError('NOT_FOUND', 'conversation is not end-to-end encrypted');
      return group;
    },
  };
}
export type E2eAccess = ReturnType<typeof e2eAccess>;
