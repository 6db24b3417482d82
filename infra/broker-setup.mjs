// One-shot (compose service `broker-setup`): gives each service its own RabbitMQ user with only the
// permissions it needs, through the management HTTP API, as the broker's admin user. Idempotent: run
// on every `up`, it resets the passwords and permissions to what the environment says.
//
// Every service declares the whole shared topology on connect (applyTopology in packages/messaging),
// and RabbitMQ asks, to declare a queue with a dead-letter exchange, configure and read on the queue and
// write on that exchange. So each user may configure, bind (write on the queue, read on the exchange)
// and read the shared queues, and write to chat.dead-letter; beyond that, only what its role needs:
//   accounts     publishes domain events (outbox relay) to chat.events; declares and consumes its own
//                accounts.<id>.revoked queue (ended sessions)
//   persistence  publishes nothing; declares and consumes its own persistence.<id>.revoked queue
//   delivery     publishes to chat.deliveries, and sessions requests to chat.events; declares and
//                consumes its own delivery.<id>.sessions queue
//   gateway      publishes domain events to chat.events; declares and consumes its own gateway.<id> queues
// Retries re-publish through the default exchange (write on amq.default). None of them is an
// administrator, may touch another vhost, or publish where its role does not.
//
// Environment: RABBITMQ_MANAGEMENT_URL (http://rabbitmq:15672), RABBITMQ_ADMIN_USER,
// RABBITMQ_ADMIN_PASSWORD, RABBITMQ_VHOST (/), and <SERVICE>_BROKER_PASSWORD for each service.
const env = process.env;
const base = (env.RABBITMQ_MANAGEMENT_URL ?? 'http://rabbitmq:15672').replace(/\/$/, '');
const vhost = encodeURIComponent(env.RABBITMQ_VHOST ?? '/');
const auth = `Basic ${Buffer.from(`${env.RABBITMQ_ADMIN_USER ?? ''}:${env.RABBITMQ_ADMIN_PASSWORD ?? ''}`).toString('base64')}`;

const EXCHANGES = 'chat\\.(events|deliveries|dead-letter)';
const SHARED_QUEUES = '(delivery\\.(events|presence|ephemeral)|persistence\\.events|accounts\\.presence)(\\.dead)?';
const any = (...alternatives) => `^(${alternatives.join('|')})$`;

export const PERMISSIONS = {
  accounts: {
    configure: any(EXCHANGES, SHARED_QUEUES, 'accounts\\..+\\.revoked'),
    write: any(SHARED_QUEUES, 'accounts\\..+\\.revoked', 'chat\\.(events|dead-letter)', 'amq\\.default'),
    read: any(EXCHANGES, SHARED_QUEUES, 'accounts\\..+\\.revoked'),
  },
  persistence: {
    configure: any(EXCHANGES, SHARED_QUEUES, 'persistence\\..+\\.revoked'),
    write: any(SHARED_QUEUES, 'persistence\\..+\\.revoked', 'chat\\.dead-letter', 'amq\\.default'),
    read: any(EXCHANGES, SHARED_QUEUES, 'persistence\\..+\\.revoked'),
  },
  delivery: {
    configure: any(EXCHANGES, SHARED_QUEUES, 'delivery\\..+\\.sessions'),
    write: any(SHARED_QUEUES, 'delivery\\..+\\.sessions', 'chat\\.(events|deliveries|dead-letter)', 'amq\\.default'),
    read: any(EXCHANGES, SHARED_QUEUES, 'delivery\\..+\\.sessions'),
  },
  gateway: {
    configure: any(EXCHANGES, SHARED_QUEUES, 'gateway\\..+'),
    write: any(SHARED_QUEUES, 'gateway\\..+', 'chat\\.(events|dead-letter)', 'amq\\.default'),
    read: any(EXCHANGES, SHARED_QUEUES, 'gateway\\..+'),
  },
};

async function api(method, path, body) {
  const res = await fetch(`${base}/api${path}`, {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`${method} /api${path}: ${res.status} ${await res.text()}`);
}

async function main() {
  const missing = Object.keys(PERMISSIONS).filter((s) => !env[`${s.toUpperCase()}_BROKER_PASSWORD`]);
  if (!env.RABBITMQ_ADMIN_USER || !env.RABBITMQ_ADMIN_PASSWORD) missing.unshift('RABBITMQ_ADMIN');
  if (missing.length) {
    process.stderr.write(
      `broker-setup: missing ${missing.map((m) => (m === 'RABBITMQ_ADMIN' ? 'RABBITMQ_ADMIN_USER/RABBITMQ_ADMIN_PASSWORD' : `${m.toUpperCase()}_BROKER_PASSWORD`)).join(', ')}\n`,
    );
    process.exit(78);
  }
  // The management API starts a little after the AMQP port: wait for it (up to two minutes).
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await api('GET', '/overview');
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
  for (const [user, perms] of Object.entries(PERMISSIONS)) {
    await api('PUT', `/users/${user}`, { password: env[`${user.toUpperCase()}_BROKER_PASSWORD`], tags: '' });
    await api('PUT', `/permissions/${vhost}/${user}`, perms);
    process.stdout.write(`broker-setup: user ${user} ready\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`broker-setup: ${err.message}\n`);
  process.exit(1);
});
