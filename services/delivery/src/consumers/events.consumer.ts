import type { Channel } from 'amqplib';
import { AppError, type Envelope } from '@chat/contracts';
import { Broker, EXCHANGES, QUEUES, userRoutingKey } from '@chat/messaging';
import { Counter, type Registry } from 'prom-client';
import { fanoutOf, serialise } from '../domain/fanout';
import { LookupUnavailable, type MembersDirectory } from '../clients/members.directory';

export interface ConsumerDeps {
  broker: Broker;
  directory: MembersDirectory;
  instanceId: string;
  prefetch: number;
  batchSize: number;
  registry: Registry;
}

const TYPING_DELIVERY_TTL_MS = 5_000;

/** This worker's own copy of membership events, so every competing worker's cache stays current. */
export const cacheQueueName = (instanceId: string) => `delivery.${instanceId}.cache`;

export async function applyWorkerTopology(ch: Channel, instanceId: string): Promise<void> {
  const q = cacheQueueName(instanceId);
  await ch.assertQueue(q, { exclusive: true, autoDelete: true, durable: false });
  await ch.bindQueue(q, EXCHANGES.events, 'conversation.changed');
}

/** Accounts or the broker being down is worth waiting for; anything else is a bad message. */
const isTransient = (err: unknown) => err instanceof LookupUnavailable || (err instanceof AppError && err.code === 'UNAVAILABLE');

/**
 * Competing consumers on the shared durable queues. A batch (natural batching: whatever arrived while
 * the previous one ran) is fanned out into one Delivery per recipient user, all published with
 * confirms, and only then acked: a crash before the ack redelivers, and a redelivered event just
 * produces the same deliveries again (the gateway is a live channel; history is the record).
 */
export async function startEventConsumers(deps: ConsumerDeps): Promise<void> {
  const routed = new Counter({ name: 'delivery_routed_total', help: 'Deliveries published to user routing keys', labelNames: ['event'], registers: [deps.registry] });
  const handle = async (items: Envelope[]) => {
    // Membership events first, so a message right after a join in the same batch reaches the new member.
    for (const e of items) if (e.type === 'conversation.changed') deps.directory.onConversationChanged((e as Envelope<'conversation.changed'>).payload);
    const fanouts = await Promise.all(items.map((e) => fanoutOf(e, deps.directory)));
    const confirms: Promise<void>[] = [];
    for (const f of fanouts) {
      if (!f) continue;
      // Typing is worthless seconds later: it must not wait in a gateway queue behind a backlog.
      const opts = f.event === 'typing' ? { persistent: false, contentType: 'application/json', expiration: String(TYPING_DELIVERY_TTL_MS) } : { persistent: false, contentType: 'application/json' };
      for (const { userId, body } of serialise(f)) {
        confirms.push(deps.broker.publishRaw(EXCHANGES.deliveries, userRoutingKey(userId), body, opts));
      }
      routed.inc({ event: f.event }, f.userIds.length);
    }
    await Promise.all(confirms);
  };
  const common = { prefetch: deps.prefetch, batchSize: deps.batchSize, isTransient, retryDelayMs: 500, handle };
  await deps.broker.consume({ queue: QUEUES.delivery.name, ...common });
  await deps.broker.consume({ queue: QUEUES.deliveryEphemeral.name, ...common });
  await deps.broker.consume({ queue: QUEUES.deliveryPresence.name, ...common });
  await deps.broker.consume({
    queue: cacheQueueName(deps.instanceId),
    maxAttempts: 1,
    handle: async (items: Envelope[]) => {
      for (const e of items) if (e.type === 'conversation.changed') deps.directory.onConversationChanged((e as Envelope<'conversation.changed'>).payload);
    },
  });
}
