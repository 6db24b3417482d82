import { AppError, DELIVERY_VERSION, type AnyEnvelope } from '@chat/contracts';
import { Broker, EXCHANGES, QUEUES, SHARED_ACK_EVERY_MS, gatewayRoutingKey } from '@chat/messaging';
import { Counter, type Registry } from 'prom-client';
import { byGateway, fanoutOf } from '../domain/fanout';
import type { SessionRegistry } from '../domain/sessions';
import type { MembershipClient } from '@chat/membership';

export interface ConsumerDeps {
  broker: Broker;
  directory: MembershipClient;
  sessions: SessionRegistry;
  /** Resolves once this worker has heard from the gateways (see worker-events.consumer.ts). */
  sessionsReady: Promise<void>;
  prefetch: number;
  batchSize: number;
  registry: Registry;
}

const TYPING_DELIVERY_TTL_MS = 5_000;

/** Accounts or the broker being down is worth waiting for; anything else is a bad message. */
const isTransient = (err: unknown) => err instanceof AppError && err.code === 'UNAVAILABLE';

/**
 * Competing consumers on the shared durable queues. A batch (natural batching: whatever arrived while
 * the previous one ran) is fanned out, split by the gateways holding the recipients (the session
 * registry) and published as ONE delivery batch per gateway, with confirms, and only then acked: a
 * crash before the ack redelivers, and a redelivered event just produces the same deliveries again
 * (the gateway is a live channel; history is the record).
 */
export async function startEventConsumers(deps: ConsumerDeps): Promise<void> {
  const routed = new Counter({
    name: 'delivery_routed_total',
    help: 'Socket events routed (one per event and gateway)',
    labelNames: ['event'],
    registers: [deps.registry],
  });
  const published = new Counter({
    name: 'delivery_batches_published_total',
    help: 'Delivery batches published to gateways',
    registers: [deps.registry],
  });
  const handler = (expiration?: number) => async (items: AnyEnvelope[]) => {
    await deps.sessionsReady;
    // Membership events first, so a message right after a join in the same batch reaches the new member.
    for (const e of items) if (e.type === 'conversation.changed') deps.directory.onConversationChanged(e.payload);
    const fanouts = await Promise.all(items.map((e) => fanoutOf(e, deps.directory)));
    const perGateway = byGateway(fanouts, (ids) => deps.sessions.route(ids));
    const confirms: Promise<void>[] = [];
    for (const [gatewayId, list] of perGateway) {
      const body = Buffer.from(JSON.stringify({ v: DELIVERY_VERSION, items: list }));
      // Typing is worthless seconds later: it must not wait in a gateway queue behind a backlog.
      const opts = {
        persistent: false,
        contentType: 'application/json',
        ...(expiration ? { expiration: String(expiration) } : {}),
      };
      confirms.push(deps.broker.publishRaw(EXCHANGES.deliveries, gatewayRoutingKey(gatewayId), body, opts));
      for (const it of list) routed.inc({ event: it.event });
    }
    published.inc(perGateway.size);
    await Promise.all(confirms);
  };
  const common = {
    prefetch: deps.prefetch,
    batchSize: deps.batchSize,
    maxItems: deps.batchSize * 4,
    isTransient,
    retryDelayMs: 500,
  };
  await deps.broker.consume({
    queue: QUEUES.delivery.name,
    ...common,
    ackEveryMs: SHARED_ACK_EVERY_MS,
    handle: handler(),
  });
  await deps.broker.consume({
    queue: QUEUES.deliveryEphemeral.name,
    ...common,
    handle: handler(TYPING_DELIVERY_TTL_MS),
  });
  await deps.broker.consume({ queue: QUEUES.deliveryPresence.name, ...common, handle: handler() });
}
