import type { FastifyInstance } from 'fastify';
import { HistoryPage, HistoryQuery, IdParams } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import type { Deps } from '../app';
import { toMessage } from '../repositories/messages.repository';
import { authenticate } from './authenticate';

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
        return { messages: page.rows.map(toMessage), hasMore: page.hasMore };
      },
    );
  };
}
