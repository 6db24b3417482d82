import { randomUUID } from 'node:crypto';

/** A valid `message.created` payload of kind text, with fresh ids: what the broker tests publish. */
export const textMessage = (body = 'hello') => ({
  id: '01JD0000000000000000000000',
  conversationId: randomUUID(),
  senderId: randomUUID(),
  clientMsgId: randomUUID(),
  createdAt: new Date().toISOString(),
  kind: 'text' as const,
  body,
});
