import { z } from 'zod';
import { Message, MessageId } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import { internalPost } from '@chat/http-kit';

export const Summary = z.object({
  lastMessage: Message.nullable(),
  unreadCount: z.number().int().nonnegative(),
  lastActivityAt: z.string().nullable().optional(),
  readMarkers: z.record(z.string(), MessageId).default({}),
});
export type Summary = z.infer<typeof Summary>;
const SummariesResponse = z.object({ summaries: z.record(z.string(), Summary) });

export interface SummariesClient {
  /** Summaries by conversation id; an empty map when persistence cannot answer (logged). */
  fetch: (userId: string, conversationIds: string[]) => Promise<Map<string, Summary>>;
}

/**
 * One round trip to persistence for all of a user's conversations. The conversation list must keep
 * working when persistence is down, so every failure degrades to "no summaries" with a warning.
 */
export function createSummariesClient(opts: { baseUrl: string; timeoutMs: number; logger: Logger }): SummariesClient {
  const url = new URL('/internal/v1/summaries', opts.baseUrl).toString();
  return {
    fetch: async (userId, conversationIds) => {
      if (!conversationIds.length) return new Map();
      try {
        const res = await internalPost(url, { userId, conversationIds }, opts.timeoutMs);
        if (!res.ok) throw new Error(`persistence answered ${res.status}`);
        const parsed = SummariesResponse.safeParse(await res.json());
        if (!parsed.success) throw new Error(`unexpected summaries body: ${parsed.error.message.slice(0, 200)}`);
        return new Map(Object.entries(parsed.data.summaries));
      } catch (err) {
        opts.logger.warn(
          { err: (err as Error).message, userId, conversations: conversationIds.length },
          'conversation summaries unavailable; answering without them',
        );
        return new Map();
      }
    },
  };
}
