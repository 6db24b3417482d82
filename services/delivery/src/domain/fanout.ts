import type { AnyEnvelope, DeliveryItem } from '@chat/contracts';

/**
 * One socket event for a set of users, before it is split by gateway. `deliveredBy`: the gateway that
 * emits it to its own sockets itself (the sender's, for a message it accepted), which gets no copy.
 */
export type Fanout = DeliveryItem & { traceId: string; sentAt: number; deliveredBy?: string };

export interface Resolver {
  /** Member ids, or null for a conversation accounts does not know. */
  members(conversationId: string): Promise<string[] | null>;
  contacts(userId: string): Promise<string[]>;
}

/**
 * Who gets what for one domain event. Recipients include the user who caused it: their other sockets
 * get it too (the gateway spares the socket that caused it). Events nobody is sent yield nothing.
 */
export async function fanoutOf(env: AnyEnvelope, resolve: Resolver): Promise<Fanout | null> {
  const base = { traceId: env.traceId, sentAt: Date.parse(env.occurredAt) };
  switch (env.type) {
    case 'message.created': {
      const m = env.payload;
      const members = await resolve.members(m.conversationId);
      // createdAt is when the gateway accepted it: the start of send-to-delivery latency. The gateway
      // that accepted it emits it to its own sockets after the confirm (Envelope.origin).
      return (
        members && {
          ...base,
          sentAt: Date.parse(m.createdAt),
          userIds: members,
          event: 'message:new',
          data: m,
          ...(env.origin ? { deliveredBy: env.origin } : {}),
        }
      );
    }
    case 'message.read': {
      const members = await resolve.members(env.payload.conversationId);
      return members && { ...base, userIds: members, event: 'read', data: env.payload };
    }
    case 'typing.changed': {
      const t = env.payload;
      const members = await resolve.members(t.conversationId);
      return members && { ...base, userIds: members.filter((u) => u !== t.userId), event: 'typing', data: t };
    }
    case 'conversation.changed': {
      const c = env.payload;
      // Those who just left learn it too, so their clients drop the conversation.
      const userIds = [...new Set([...c.memberIds, ...c.removedUserIds])];
      const data = {
        type: c.type,
        conversation: c.conversation,
        ...(c.userId ? { userId: c.userId } : {}),
        ...(c.encrypted !== undefined ? { encrypted: c.encrypted } : {}),
      };
      return { ...base, userIds, event: 'conversation', data };
    }
    case 'friendship.changed':
      return { ...base, userIds: [...new Set(env.payload.userIds)], event: 'friends', data: env.payload.event };
    case 'invitation.changed':
      return { ...base, userIds: [...new Set(env.payload.userIds)], event: 'invitation', data: env.payload.event };
    case 'e2e.changed':
      return { ...base, userIds: [...new Set(env.payload.userIds)], event: 'e2e', data: env.payload.event };
    case 'presence.changed':
      return { ...base, userIds: await resolve.contacts(env.payload.userId), event: 'presence', data: env.payload };
    // Presence bookkeeping (heartbeats, reports) and user creation send nothing to sockets.
    default:
      return null;
  }
}

/**
 * The items each gateway gets for a batch of fan-outs: one list per gateway, each item naming only
 * the recipients that gateway holds. `route` maps users to gateways (the session registry).
 */
export function byGateway(
  fanouts: Array<Fanout | null>,
  route: (userIds: string[]) => Map<string, string[]>,
): Map<string, DeliveryItem[]> {
  const out = new Map<string, DeliveryItem[]>();
  for (const fanout of fanouts) {
    if (!fanout || fanout.userIds.length === 0) continue;
    const { deliveredBy, ...f } = fanout;
    for (const [gatewayId, userIds] of route(f.userIds)) {
      if (gatewayId === deliveredBy) continue;
      let items = out.get(gatewayId);
      if (!items) out.set(gatewayId, (items = []));
      items.push({ ...f, sentAt: Number.isFinite(f.sentAt) ? f.sentAt : Date.now(), userIds });
    }
  }
  return out;
}
