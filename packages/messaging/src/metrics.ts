import { Counter, Histogram, type Registry } from 'prom-client';

export type BrokerMetrics = ReturnType<typeof createBrokerMetrics>;

export function createBrokerMetrics(registry: Registry) {
  return {
    published: new Counter({
      name: 'broker_published_total',
      help: 'Messages confirmed by the broker',
      labelNames: ['type'],
      registers: [registry],
    }),
    publishFailed: new Counter({
      name: 'broker_publish_failed_total',
      help: 'Publishes refused or unconfirmed',
      labelNames: ['type'],
      registers: [registry],
    }),
    publishSeconds: new Histogram({
      name: 'broker_publish_confirm_seconds',
      help: 'Time from publish to broker confirm',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    consumed: new Counter({
      name: 'broker_consumed_total',
      help: 'Messages handled and acked',
      labelNames: ['queue'],
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'broker_dead_lettered_total',
      help: 'Messages sent to the dead-letter exchange',
      labelNames: ['queue', 'reason'],
      registers: [registry],
    }),
    retried: new Counter({
      name: 'broker_retried_total',
      help: 'Messages put back for another attempt',
      labelNames: ['queue'],
      registers: [registry],
    }),
    handleSeconds: new Histogram({
      name: 'broker_handle_seconds',
      help: 'Time to handle one consumed message or batch',
      labelNames: ['queue'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
  };
}
