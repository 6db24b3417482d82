/**
 * `npm run start:cluster` end to end (scripts/cluster.ts), on free ports in a temporary data folder and
 * kept small for the machine (2 RabbitMQ nodes, 2 gateways, 2 delivery workers): every instance comes
 * to /readyz 200, each runs its own service, the load balancer answers at the public origin, and
 * SIGTERM stops all of it, leaving no process behind. cluster.int.test.ts tests the cluster's
 * behaviour under failures; this one the runner that starts it.
 */
import { rmSync } from 'node:fs';
import { waitFor } from '@chat/testkit';
import { alive, recordedPids, runnerEnv, startRunner, type RunnerEnv } from '../foundation/runner-process';

jest.setTimeout(300_000);

let setup: RunnerEnv;

beforeAll(async () => {
  setup = await runnerEnv('chat-cluster-runner-');
});

afterAll(() => {
  if (setup) rmSync(setup.dataDir, { recursive: true, force: true });
});

it('brings up a 2-node broker cluster, 2 gateways behind HAProxy and 2 delivery workers, and stops all of it on SIGTERM', async () => {
  const { env, ports, dataDir } = setup;
  const runner = startRunner('cluster.ts', {
    ...env,
    CLUSTER_RABBIT_NODES: '2',
    CLUSTER_GATEWAYS: '2',
    CLUSTER_DELIVERY_WORKERS: '2',
  });
  try {
    await runner.up(240_000);
    const out = runner.out();
    expect(out).toMatch(/rabbitmq cluster formed: chat-cluster-\d+-1@localhost, chat-cluster-\d+-2@localhost/);
    // Every instance said where it is ready: accounts, persistence, delivery-1/2, gateway-1/2.
    const ready = [...out.matchAll(/\] *(\S+) ready on http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => [m[1], Number(m[2])]);
    expect(ready.map(([name]) => name).sort()).toEqual([
      'accounts',
      'delivery-1',
      'delivery-2',
      'gateway-1',
      'gateway-2',
      'persistence',
    ]);
    for (const [name, port] of ready) {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
    }
    // Each instance runs its own service (`delivery-2` is the delivery service, not a missing one).
    for (const g of ['gateway-1', 'gateway-2']) expect(out).toMatch(new RegExp(`\\[${g}\\] +INFO +gateway listening`));
    for (const d of ['delivery-1', 'delivery-2'])
      expect(out).toMatch(new RegExp(`\\[${d}\\] +INFO +delivery worker running`));
    // The public origin is HAProxy, in front of the gateways; it needs a health check to find one up.
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${ports.gateway}/readyz`).catch(() => null))?.status === 200,
      30_000,
      'the load balancer to find a ready gateway',
    );
    const pids = recordedPids(dataDir);
    // postgres, 2 broker nodes, 6 services, haproxy
    expect(pids.length).toBe(10);
    expect(await runner.stop()).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    expect(runner.out()).toContain('stopped; nothing left running');
    await expect(fetch(`http://127.0.0.1:${ports.gateway}/readyz`)).rejects.toThrow();
  } finally {
    await runner.stop();
  }
});
