import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Message, Uuid } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import type { Deps } from '../app';

const SummariesBody = z.strictObject({ userId: Uuid, conversationIds: z.array(Uuid).max(10_000) });
const Summary = z.object({
  lastMessage: Message.nullable(),
  unreadCount: z.number().int().nonnegative(),
  lastActivityAt: z.string().nullable(),
  readMarkers: z.record(z.string(), z.string()),
});

/**
 * `POST /internal/v1/summaries` (internal: never proxied by the gateway): per conversation its last
 * message, the user's unread count (capped at 1000), the time of its last message and every member's
 * read marker. Accounts calls it to fill its conversation list.
 */
export function summariesRoutes(deps: Pick<Deps, 'summaries'>) {
  return async (instance: FastifyInstance): Promise<void> => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/internal/v1/summaries',
      {
        schema: {
          tags: ['internal'],
          summary: 'Last message, unread count and read markers of many conversations for one user',
          description:
            "unreadCount counts messages after the user's read marker not sent by the user, capped at 1000. lastActivityAt is the last message's createdAt, null without messages.",
          body: SummariesBody,
          response: { 200: z.object({ summaries: z.record(z.string(), Summary) }), ...errorResponses(400, 503) },
        },
      },
      async (req) => ({ summaries: await deps.summaries.forUser(req.body.userId, req.body.conversationIds) }),
    );
  };
}
