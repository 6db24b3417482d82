import type { FastifyInstance } from 'fastify';
import { HistoryPage, HistoryQuery, IdParams, limits, utf8Bytes, type Message } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import type { Deps } from '../app';
import { toMessage } from '../repositories/messages.repository';
import { authenticate } from './authenticate';

/**
 * Bounds a page in bytes as well as in messages: encrypted messages can be large, so a page stops
 * early (and says `hasMore`) once it passes `historyPageMaxBytes`, always keeping at least one
 * message. What is dropped is the far end from the cursor, so paging on from the page never skips:
 * the oldest messages of a backward page (newest or `before=`), the newest of an `after=` page.
 */
export function withinBytes(
  messages: Message[],
  hasMore: boolean,
  forward: boolean,
): { messages: Message[]; hasMore: boolean } {
  let budget = limits.historyPageMaxBytes;
  const order = forward ? messages : [...messages].reverse();
  let kept = 0;
  for (const m of order) {
    budget -= utf8Bytes(JSON.stringify(m));
    if (budget < 0 && kept > 0) break;
    kept++;
  }
  if (kept === messages.length) return { messages, hasMore };
  return { messages: forward ? messages.slice(0, kept) : messages.slice(messages.length - kept), hasMore: true };
}

/** `GET /api/v1/conversations/:id/messages`: history pages, for members only. */
export function historyRoutes(deps: Pick<Deps, 'membership' | 'messages' | 'verifier'>) {
  return async (instance: FastifyInstance): Promise<void> => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.decorateRequest('userId', '');
    app.get(
      '/api/v1/conversations/:id/messages',
      {
        onRequest: authenticate(deps.verifier),
        schema: {
          tags: ['messages'],
          summary: 'One page of history, oldest first',
          description:
            'No cursor: the newest page. `before=ID`: the page before ID (by id). `after=ID`: messages committed after ID, in commit order ' +
            '(a message that committed late with an older id is not skipped); an ID not stored yet falls back to ids greater than it. ' +
            'Only members may read: a conversation the caller is not a member of answers NOT_FOUND, exactly like one that does not exist.',
          security: [{ bearer: [] }],
          params: IdParams,
          querystring: HistoryQuery,
          response: { 200: HistoryPage, ...errorResponses(400, 401, 404, 503) },
        },
      },
      async (req) => {
        const { id } = req.params;
        await deps.membership.assertMember(id, req.userId);
        const page = await deps.messages.page(id, req.query);
        return withinBytes(page.rows.map(toMessage), page.hasMore, req.query.after !== undefined);
      },
    );
  };
}
