import type { Delivery, Envelope } from '@chat/contracts';

/** One socket event for a set of users: serialised once, published once per user. */
export interface Fanout {
  userIds: string[];
  event: Delivery['event'];
  data: unknown;
  traceId: string;
  sentAt: number;
}

export interface Resolver {
  /** Member ids, or null for a conversation accounts does not know. */
  members(conversationId: string): Promise<string[] | null>;
  contacts(userId: string): Promise<string[]>;
}

/**
 * Who gets what for one domain event. Recipients include the user who caused it: their other sockets
 * get it too (the gateway spares the socket that caused it). Events nobody is sent yield nothing.
 */
export async function fanoutOf(env: Envelope, resolve: Resolver): Promise<Fanout | null> {
  const base = { traceId: env.traceId, sentAt: Date.parse(env.occurredAt) };
  switch (env.type) {
    case 'message.created': {
      const m = (env as Envelope<'message.created'>).payload;
      const members = await resolve.members(m.conversationId);
      // createdAt is when the gateway accepted it: the start of send-to-delivery latency.
      return members && { ...base, sentAt: Date.parse(m.createdAt), userIds: members, event: 'message:new', data: m };
    }
    case 'message.read': {
      const r = (env as Envelope<'message.read'>).payload;
      const members = await resolve.members(r.conversationId);
      return members && { ...base, userIds: members, event: 'read', data: r };
    }
    case 'typing.changed': {
      const t = (env as Envelope<'typing.changed'>).payload;
      const members = await resolve.members(t.conversationId);
      return members && { ...base, userIds: members.filter((u) => u !== t.userId), event: 'typing', data: t };
    }
    case 'conversation.changed': {
      const c = (env as Envelope<'conversation.changed'>).payload;
      // Those who just left learn it too, so their clients drop the conversation.
      const userIds = [...new Set([...c.memberIds, ...c.removedUserIds])];
      const data = { type: c.type, conversation: c.conversation, ...(c.userId ? { userId: c.userId } : {}) };
      return { ...base, userIds, event: 'conversation', data };
    }
    case 'friendship.changed': {
      const f = (env as Envelope<'friendship.changed'>).payload;
      return { ...base, userIds: [...new Set(f.userIds)], event: 'friends', data: f.event };
    }
    case 'invitation.changed': {
      const i = (env as Envelope<'invitation.changed'>).payload;
      return { ...base, userIds: [...new Set(i.userIds)], event: 'invitation', data: i.event };
    }
    case 'presence.changed': {
      const p = (env as Envelope<'presence.changed'>).payload;
      return { ...base, userIds: await resolve.contacts(p.userId), event: 'presence', data: p };
    }
    // Presence bookkeeping (heartbeats) and user creation send nothing to sockets.
    default:
      return null;
  }
}

/** The Delivery JSON for each recipient, with the shared part serialised once (rooms of 1,000). */
export function serialise(f: Fanout): Array<{ userId: string; body: Buffer }> {
  const tail = `,"event":${JSON.stringify(f.event)},"data":${JSON.stringify(f.data)},"traceId":${JSON.stringify(f.traceId)},"sentAt":${Number.isFinite(f.sentAt) ? f.sentAt : Date.now()}}`;
  return f.userIds.map((userId) => ({ userId, body: Buffer.from(`{"userId":${JSON.stringify(userId)}${tail}`) }));
}
