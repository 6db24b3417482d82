import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Message } from '@chat/contracts';
import { errorResponses, type ZodTypeProvider } from '@chat/http-kit';
import type { Deps } from '../app';

/**
 * Service-to-service routes (docs/internal-contracts.md): served on the persistence port, never proxied
 * by the gateway, behind the deployment's service credential.
 */
export function internalRoutes(deps: Pick<Deps, 'messages'>) {
  return async (instance: FastifyInstance): Promise<void> => {
    const app = instance.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/internal/v1/messages/claim',
      {
        schema: {
          tags: ['internal'],
          summary: 'The stored message of a send, storing this one if there is none',
          description:
            'For a resend no gateway remembers (`resend: true` on `message:send`): an earlier attempt may have ' +
            'reached history without anyone acking it. Stores the message unless its (senderId, clientMsgId) is ' +
            'stored, and answers the stored one: the gateway acks THAT id, so the ack and history agree.',
          body: Message,
          response: { 200: z.object({ message: Message }), ...errorResponses(400, 503) },
        },
      },
      async (req) => ({ message: await deps.messages.claim(req.body) }),
    );
  };
}
