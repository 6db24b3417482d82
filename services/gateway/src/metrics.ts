import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

/** Reports how many conversations the membership cache holds, at each scrape. */
export function conversationsCachedGauge(registry: Registry, size: () => number): Gauge {
  return new Gauge({
    name: 'gateway_conversations_cached',
    help: 'Conversations in the membership cache',
    registers: [registry],
    collect() {
      this.set(size());
    },
  });
}

export function createGatewayMetrics(registry: Registry) {
  return {
    sockets: new Gauge({ name: 'gateway_connected_sockets', help: 'Connected sockets', registers: [registry] }),
    users: new Gauge({
      name: 'gateway_connected_users',
      help: 'Users with at least one socket here',
      registers: [registry],
    }),
    handshakesRefused: new Counter({
      name: 'gateway_handshakes_refused_total',
      help: 'Handshakes refused',
      labelNames: ['code'],
      registers: [registry],
    }),
    events: new Counter({
      name: 'gateway_client_events_total',
      help: 'Client events by outcome',
      labelNames: ['event', 'outcome'],
      registers: [registry],
    }),
    sendAck: new Histogram({
      name: 'gateway_send_ack_seconds',
      help: 'message:send from arrival to ack',
      labelNames: ['outcome'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    emitted: new Counter({
      name: 'gateway_deliveries_emitted_total',
      help: 'Deliveries emitted to a user room',
      labelNames: ['event'],
      registers: [registry],
    }),
    sessions: new Counter({
      name: 'gateway_socket_sessions_total',
      help: 'Connections by session outcome: new, resumed, or a resume refused (the client resyncs) by reason',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    resyncs: new Counter({
      name: 'gateway_resyncs_total',
      help: 'Times the sockets were told to resync (the broker connection came back)',
      registers: [registry],
    }),
    accountsLookups: new Counter({
      name: 'gateway_accounts_lookups_total',
      help: 'Conversation lookups sent to accounts (cache misses, refreshes, encryption questions); events keep the cache current',
      registers: [registry],
    }),
    deliveryLatency: new Histogram({
      name: 'gateway_send_to_delivery_seconds',
      help: 'From acceptance of a message at a gateway to its emission at the recipient gateway',
      buckets: latencyBuckets,
      registers: [registry],
    }),
  };
}
