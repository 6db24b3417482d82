import { parseEnvelope, type AnyEnvelope, type Message } from '@chat/contracts';
import { PRIVATE_ACK_EVERY_MS, PRIVATE_QUEUES, type Broker } from '@chat/messaging';
import type { RevokedSessions } from '@chat/auth';
import type { MembershipClient } from '@chat/membership';
import type { PresenceReporter } from '../presence/presence-reporter';
import type { RecentSends } from '../domain/recent-sends';
import { userRoom, type GatewayServer } from '../socket/io';

/**
 * This instance's own copy of the domain events that concern it: membership changes (cache
 * invalidation), a delivery worker asking where users are (answered with a heartbeat at once), and
 * every accepted send (so a resend through this gateway keeps the id another gateway gave it).
 */
export async function startEventsConsumer(deps: {
  broker: Broker;
  instanceId: string;
  directory: MembershipClient;
  presence: PresenceReporter;
  recentSends: RecentSends;
  io: GatewayServer;
  /** Ended sessions whose tokens open no new socket. */
  revoked?: RevokedSessions;
}): Promise<void> {
  await deps.broker.consume<AnyEnvelope | Sent>({
    queue: PRIVATE_QUEUES.gatewayEvents(deps.instanceId),
    maxAttempts: 1,
    parse: parseLight,
    batchSize: 64,
    ackEveryMs: PRIVATE_ACK_EVERY_MS,
    handle: async (items) => {
      let asked = false;
      for (const e of items) {
        // Every gateway learns every accepted send: a resend through it after another gateway crashed gets the same id.
        if (e.type === 'sent') deps.recentSends.learn(e.message);
        else if (e.type === 'conversation.changed') deps.directory.onConversationChanged(e.payload);
        else if (e.type === 'friendship.changed') deps.directory.onUsersChanged(e.payload.userIds);
        else if (e.type === 'sessions.requested') asked = true;
        else if (e.type === 'session.revoked') {
          deps.revoked?.add(e.payload.sessionId, e.payload.until ? Date.parse(e.payload.until) : undefined);
          disconnectSession(deps.io, e.payload);
        }
      }
      // One heartbeat answers every worker that asked in this batch.
      if (asked) deps.presence.heartbeat();
    },
  });
}

type Sent = { type: 'sent'; message: Message };

/** A revoked session's sockets on this gateway go at once, as when their token expires. */
function disconnectSession(io: GatewayServer, s: { userId: string; sessionId: string }): void {
  const nsp = io.of('/');
  for (const id of [...(nsp.adapter.rooms.get(userRoom(s.userId)) ?? [])]) {
    const socket = nsp.sockets.get(id);
    if (socket?.data.sessionId === s.sessionId) socket.disconnect(true);
  }
}

/**
 * Every accepted send of the deployment crosses this queue, and all that is needed of one is its key
 * and the message to answer a resend with: a structural check of those fields instead of the full
 * schema (the sender's gateway validated it; persistence and delivery parse it fully).
 */
function parseLight(raw: unknown): AnyEnvelope | Sent {
  const r = raw as { type?: unknown; payload?: Record<string, unknown> } | null;
  if (r && r.type === 'message.created' && r.payload && typeof r.payload === 'object') {
    const p = r.payload;
    if (
      typeof p.id === 'string' &&
      typeof p.senderId === 'string' &&
      typeof p.clientMsgId === 'string' &&
      typeof p.conversationId === 'string' &&
      typeof p.createdAt === 'string'
    ) {
      return { type: 'sent', message: p as unknown as Message };
    }
    throw new Error('message.created without its keys');
  }
  return parseEnvelope(raw);
}
