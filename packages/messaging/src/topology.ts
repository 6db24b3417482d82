import type { Channel } from 'amqplib';
import type { EventType } from '@chat/contracts';

/**
 * The broker topology, declared once. `applyTopology` runs on every (re)connect, before anything is
 * published or consumed, so a queue exists (and keeps what is published) while its consumer is down.
 */
export const EXCHANGES = {
  /** Domain events; routing key = event type. */
  events: 'chat.events',
  /** Delivery batches; routing key = `gateway.<instanceId>`: one binding per gateway, none per user. */
  deliveries: 'chat.deliveries',
  /** Where rejected messages go; routing key = the queue they came from. */
  deadLetter: 'chat.dead-letter',
} as const;

export interface QueueSpec {
  name: string;
  bindings: EventType[];
  /** Messages older than this are dropped by the broker: for ephemeral events only. */
  messageTtlMs?: number;
}

export const QUEUES = {
  delivery: {
    name: 'delivery.events',
    bindings: [
      'message.created',
      'message.read',
      'friendship.changed',
      'conversation.changed',
      'invitation.changed',
      'e2e.changed',
    ],
  },
  /**
   * Presence changes come in bursts (a gateway restart reconnects thousands at once) and each costs a
   * contacts lookup: on a queue of their own they never hold up messages (head-of-line blocking).
   */
  deliveryPresence: { name: 'delivery.presence', bindings: ['presence.changed'] },
  /** Typing is ephemeral: never persisted, never queued for later than a few seconds. */
  deliveryEphemeral: { name: 'delivery.ephemeral', bindings: ['typing.changed'], messageTtlMs: 5_000 },
  persistence: { name: 'persistence.events', bindings: ['message.created', 'message.read', 'conversation.changed'] },
  /** Accounts decides presence from the gateways' reports and heartbeats. */
  accountsPresence: { name: 'accounts.presence', bindings: ['presence.reported', 'gateway.heartbeat'] },
} as const satisfies Record<string, QueueSpec>;

/** Bindings an earlier version declared: removed on every connect so an existing broker follows along. */
export const RETIRED_BINDINGS: Array<{ queue: string; key: EventType }> = [
  { queue: 'delivery.events', key: 'presence.changed' },
];

export const deadLetterQueue = (queue: string) => `${queue}.dead`;

/**
 * Durable queues are quorum queues: replicated across a cluster's nodes (Raft), so losing a node loses
 * no confirmed message; on one node they behave like durable classic queues. Confirms mean "written by
 * a majority", acks keep their meaning. A queue cannot change type in place: an existing broker with
 * classic queues is migrated by `migrateToQuorum` (see docs/operations.md).
 */
export const QUORUM = 'quorum';

/**
 * Deliveries of one message (redeliveries after a crash or a requeue) before the broker dead-letters it:
 * a message that kills its consumer every time ends in `<q>.dead` instead of looping. High, because a
 * transient failure (database down) requeues after each `retryDelayMs` and must survive a long outage;
 * explicit, because RabbitMQ 4 would otherwise apply its default of 20.
 */
export const DELIVERY_LIMIT = 1_000;

/** The arguments of a durable queue's declaration (also used to check an existing queue's type). */
export function durableQueueArgs(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { 'x-queue-type': QUORUM, 'x-delivery-limit': DELIVERY_LIMIT, ...extra };
}

/**
 * A dead-letter queue: quorum, without a delivery limit. Peeking at dead letters requeues them, which
 * counts as a delivery; a limit would drop them (they have nowhere further to go) after enough peeks.
 */
export function deadLetterQueueArgs(): Record<string, unknown> {
  return { 'x-queue-type': QUORUM };
}

/** The bindings of every durable queue: what a migration moves from a classic queue to its quorum successor. */
export function durableQueues(): Array<{
  name: string;
  args: Record<string, unknown>;
  bindings: Array<{ exchange: string; key: string }>;
}> {
  const out: ReturnType<typeof durableQueues> = [];
  for (const q of Object.values(QUEUES) as QueueSpec[]) {
    if (q.messageTtlMs !== undefined) continue;
    out.push({
      name: deadLetterQueue(q.name),
      args: deadLetterQueueArgs(),
      bindings: [{ exchange: EXCHANGES.deadLetter, key: q.name }],
    });
    out.push({
      name: q.name,
      args: durableQueueArgs(mainQueueArgs(q)),
      bindings: q.bindings.map((key) => ({ exchange: EXCHANGES.events, key })),
    });
  }
  return out;
}

function mainQueueArgs(q: QueueSpec): Record<string, unknown> {
  const args: Record<string, unknown> = {
    'x-dead-letter-exchange': EXCHANGES.deadLetter,
    'x-dead-letter-routing-key': q.name,
  };
  if (q.messageTtlMs) args['x-message-ttl'] = q.messageTtlMs;
  return args;
}
/** Where delivery sends what one gateway instance's sockets get. */
export const gatewayRoutingKey = (gatewayId: string) => `gateway.${gatewayId}`;

/**
 * Queues private to one process: exclusive and auto-deleted, they live exactly as long as its
 * connection, and are declared again (empty) on every reconnect.
 */
export const PRIVATE_QUEUES = {
  /** A gateway's delivery batches (`chat.deliveries`, key `gateway.<id>`). */
  gatewayDeliveries: (gatewayId: string) => `gateway.${gatewayId}`,
  /** A gateway's copy of the events that invalidate its caches or ask for its sessions. */
  gatewayEvents: (gatewayId: string) => `gateway.${gatewayId}.events`,
  /** A delivery worker's copy of every session report and membership change: each worker knows them all. */
  workerEvents: (workerId: string) => `delivery.${workerId}.sessions`,
  /** An accounts or persistence instance's copy of `session.revoked`: each refuses a revoked session's tokens. */
  revokedSessions: (service: string, instanceId: string) => `${service}.${instanceId}.revoked`,
} as const;

export const GATEWAY_EVENT_BINDINGS: EventType[] = [
  'conversation.changed',
  'friendship.changed',
  'sessions.requested',
  'message.created',
  'session.revoked',
];
export const WORKER_EVENT_BINDINGS: EventType[] = ['presence.reported', 'gateway.heartbeat', 'conversation.changed'];

const privateQueue = { exclusive: true, autoDelete: true, durable: false } as const;

/** How long a consumer of a private queue may hold its acks to send them as one (ConsumerSpec.ackEveryMs). */
export const PRIVATE_ACK_EVERY_MS = 50;

/**
 * The same for the shared quorum queues' consumers (delivery, persistence): every ack (settle) is a
 * command in the queue's Raft log, so acking a few messages together saves the broker ~9% of its work
 * per message at 500 msg/s (docs/benchmarks.md). Shorter than the private queues': redelivery after a
 * consumer crash covers at most this much more.
 */
export const SHARED_ACK_EVERY_MS = 25;

/** A gateway instance's own queues, on every (re)connect after `applyTopology`. */
export async function applyGatewayTopology(ch: Channel, gatewayId: string): Promise<void> {
  const deliveries = PRIVATE_QUEUES.gatewayDeliveries(gatewayId);
  await ch.assertQueue(deliveries, privateQueue);
  await ch.bindQueue(deliveries, EXCHANGES.deliveries, gatewayRoutingKey(gatewayId));
  const events = PRIVATE_QUEUES.gatewayEvents(gatewayId);
  await ch.assertQueue(events, privateQueue);
  for (const key of GATEWAY_EVENT_BINDINGS) await ch.bindQueue(events, EXCHANGES.events, key);
}

/** A delivery worker's own queue, on every (re)connect after `applyTopology`. */
export async function applyWorkerTopology(ch: Channel, workerId: string): Promise<void> {
  const q = PRIVATE_QUEUES.workerEvents(workerId);
  await ch.assertQueue(q, privateQueue);
  for (const key of WORKER_EVENT_BINDINGS) await ch.bindQueue(q, EXCHANGES.events, key);
}

/** A private queue of every `session.revoked` (accounts, persistence), on every (re)connect. */
export async function applyRevocationTopology(ch: Channel, queue: string): Promise<void> {
  await ch.assertQueue(queue, privateQueue);
  await ch.bindQueue(queue, EXCHANGES.events, 'session.revoked');
}

export async function applyTopology(ch: Channel): Promise<void> {
  await ch.assertExchange(EXCHANGES.events, 'topic', { durable: true });
  await ch.assertExchange(EXCHANGES.deliveries, 'direct', { durable: true });
  await ch.assertExchange(EXCHANGES.deadLetter, 'direct', { durable: true });
  for (const q of Object.values(QUEUES) as QueueSpec[]) {
    const dead = deadLetterQueue(q.name);
    await ch.assertQueue(dead, { durable: true, arguments: deadLetterQueueArgs() });
    await ch.bindQueue(dead, EXCHANGES.deadLetter, q.name);
    // Ephemeral queues (typing) stay classic and transient: nothing in them is worth replicating, and a
    // transient queue whose node is lost is simply declared again on the node a service reconnects to.
    const durable = q.messageTtlMs === undefined;
    await ch.assertQueue(q.name, {
      durable,
      arguments: durable ? durableQueueArgs(mainQueueArgs(q)) : mainQueueArgs(q),
    });
    for (const key of q.bindings) await ch.bindQueue(q.name, EXCHANGES.events, key);
  }
  for (const { queue, key } of RETIRED_BINDINGS) await ch.unbindQueue(queue, EXCHANGES.events, key);
}
