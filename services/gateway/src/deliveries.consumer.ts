import { Delivery, type Envelope, type Message, type ReadEvent } from '@chat/contracts';
import type { Broker } from '@chat/messaging';
import type { ConversationDirectory } from './conversations.directory';
import type { GatewayMetrics } from './metrics';
import { RecentSends } from './recent-sends';
import type { ReadCursors } from './typing/read-cursors';
import { readKey } from './socket/handlers';
import type { GatewayServer } from './socket/io';
import type { SessionRegistry } from './socket/sessions';
import { deliveryQueueName, eventsQueueName } from './user-bindings';

export interface DeliveryConsumerDeps {
  broker: Broker;
  io: GatewayServer;
  instanceId: string;
  directory: ConversationDirectory;
  recentSends: RecentSends;
  recentReads: Map<string, string>;
  /** A reader's receipt made on another gateway also moves this gateway's cursor for them. */
  readCursors: ReadCursors;
  metrics: GatewayMetrics;
  sessions: SessionRegistry;
  prefetch: number;
  batchSize: number;
}

/**
 * The socket that caused an event already has its outcome (the ack): the contract sends the echo to
 * the user's *other* sockets. Delivery does not know sockets, but this gateway remembers which of its
 * sockets sent what.
 */
function originSocket(d: Delivery, deps: DeliveryConsumerDeps): string | undefined {
  if (d.exceptSocketId) return d.exceptSocketId;
  if (d.event === 'message:new') {
    const m = d.data as Message;
    return m.senderId === d.userId ? deps.recentSends.get(RecentSends.key(m.senderId, m.clientMsgId))?.socketId : undefined;
  }
  if (d.event === 'read') {
    const r = d.data as ReadEvent;
    return r.userId === d.userId ? deps.recentReads.get(readKey(r.userId, r.conversationId, r.messageId)) : undefined;
  }
  return undefined;
}

/** Registers this instance's consumers; they start on every (re)connect, after its queues exist. */
export async function startDeliveryConsumers(deps: DeliveryConsumerDeps): Promise<void> {
  await deps.broker.consume<Delivery>({
    queue: deliveryQueueName(deps.instanceId),
    parse: (raw) => Delivery.parse(raw),
    prefetch: deps.prefetch,
    batchSize: deps.batchSize,
    maxAttempts: 1,
    handle: async (items) => {
      const now = Date.now();
      for (const d of items) {
        if (d.event === 'read') {
          const r = d.data as ReadEvent;
          if (r.userId === d.userId) deps.readCursors.record(r.userId, r.conversationId, r.messageId);
        }
        // Numbered per socket session (resume): socket/sessions.ts emits to each of the user's sockets.
        deps.sessions.emitToUser(d.userId, d.event, d.data, originSocket(d, deps));
        deps.metrics.emitted.inc({ event: d.event });
        if (d.sentAt !== undefined && d.event === 'message:new') deps.metrics.deliveryLatency.observe(Math.max(0, now - d.sentAt) / 1000);
      }
    },
  });
  await deps.broker.consume({
    queue: eventsQueueName(deps.instanceId),
    maxAttempts: 1,
    handle: async (items: Envelope[]) => {
      for (const e of items) {
        if (e.type === 'conversation.changed') deps.directory.onConversationChanged((e as Envelope<'conversation.changed'>).payload);
        else if (e.type === 'friendship.changed') deps.directory.onUsersChanged((e as Envelope<'friendship.changed'>).payload.userIds);
      }
    },
  });
}
