import { parseDeliveryBatch, type DeliveryBatch, type DeliveryItem } from '@chat/contracts';
import { PRIVATE_ACK_EVERY_MS, PRIVATE_QUEUES, type Broker } from '@chat/messaging';
import type { GatewayMetrics } from '../metrics';
import { RecentSends } from '../domain/recent-sends';
import type { ReadCursors } from '../typing/read-cursors';
import { readKey } from '../socket/handlers';
import type { GatewayServer } from '../socket/io';
import type { SessionRegistry } from '../socket/sessions';

export interface DeliveryConsumerDeps {
  broker: Broker;
  io: GatewayServer;
  instanceId: string;
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
function originSocket(d: DeliveryItem, deps: EmitDeps): string | undefined {
  if (d.exceptSocketId) return d.exceptSocketId;
  if (d.event === 'message:new') {
    const m = d.data;
    return d.userIds.includes(m.senderId)
      ? deps.recentSends.get(RecentSends.key(m.senderId, m.clientMsgId))?.socketId
      : undefined;
  }
  if (d.event === 'read') {
    const r = d.data;
    return d.userIds.includes(r.userId)
      ? deps.recentReads.get(readKey(r.userId, r.conversationId, r.messageId))
      : undefined;
  }
  return undefined;
}

/** What emitting a delivery to this gateway's sockets needs. */
export type EmitDeps = Pick<
  DeliveryConsumerDeps,
  'recentSends' | 'recentReads' | 'readCursors' | 'metrics' | 'sessions'
>;

/**
 * Emits one delivery item to the sockets of its users on this gateway: a batch item routed here by
 * delivery, or a message this gateway accepted itself (emitted by it after the confirm, see
 * `Envelope.origin`).
 */
export function emitDelivery(deps: EmitDeps, d: DeliveryItem, now = Date.now()): void {
  if (d.event === 'read' && d.userIds.includes(d.data.userId))
    deps.readCursors.record(d.data.userId, d.data.conversationId, d.data.messageId);
  // A send published again under its id (a retry after a failed or unconfirmed attempt) is not
  // emitted twice by this gateway (recent-sends.ts).
  if (d.event === 'message:new' && !deps.recentSends.firstDelivery(d.data.id)) return;
  const except = originSocket(d, deps);
  // Numbered per socket session (resume): socket/sessions.ts emits to each of the users' sockets.
  for (const userId of d.userIds) deps.sessions.emitToUser(userId, d.event, d.data, except);
  deps.metrics.emitted.inc({ event: d.event }, d.userIds.length);
  if (d.sentAt !== undefined && d.event === 'message:new')
    deps.metrics.deliveryLatency.observe(Math.max(0, now - d.sentAt) / 1000);
}

/**
 * This instance's delivery batches (routing key `gateway.<id>`): each item is one socket event for the
 * users named, emitted once to all their rooms. Registered once; runs on every (re)connect, after
 * the private queue exists.
 */
export async function startDeliveryConsumer(deps: DeliveryConsumerDeps): Promise<void> {
  await deps.broker.consume<DeliveryBatch>({
    queue: PRIVATE_QUEUES.gatewayDeliveries(deps.instanceId),
    frame: 'single',
    parse: parseDeliveryBatch,
    prefetch: deps.prefetch,
    batchSize: deps.batchSize,
    maxAttempts: 1,
    // A private queue: acked together, one frame at most every 50 ms (see ConsumerSpec.ackEveryMs).
    ackEveryMs: PRIVATE_ACK_EVERY_MS,
    handle: async (batches) => {
      const now = Date.now();
      for (const batch of batches) for (const d of batch.items) emitDelivery(deps, d, now);
    },
  });
}
