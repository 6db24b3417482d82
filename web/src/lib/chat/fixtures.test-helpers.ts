import type { Conversation, Message } from '@chat/contracts';

let n = 0;
/** A server message; ids are ULID-like strings that sort in the order given. */
export function msg(id: string, over: Partial<Message> = {}): Message {
  n++;
  return {
    id: id.padStart(26, '0'),
    conversationId: 'c1',
    senderId: 'alice',
    clientMsgId: `cm-${id}-${n}`,
    createdAt: '2026-01-01T10:00:00.000Z',
    kind: 'text',
    body: `m${id}`,
    ...over,
  };
}

export function conv(id: string, over: Partial<Conversation> = {}): Conversation {
  return {
    id,
    kind: 'room',
    title: id,
    members: [
      { userId: 'me', role: 'owner', lastReadMessageId: null },
      { userId: 'alice', role: 'member', lastReadMessageId: null },
    ],
    createdAt: '2026-01-01T00:00:00.000Z',
    lastMessage: null,
    unreadCount: 0,
    ...over,
  };
}
