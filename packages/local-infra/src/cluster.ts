import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { authHeader, startRabbit, type LocalRabbit } from './rabbitmq';
import type { SuperviseOptions } from './keeper';
import { until } from './proc';

export interface ClusterNodePorts {
  port: number;
  managementPort: number;
  distPort: number;
}

export interface RabbitClusterOptions {
  /** Each node's data goes to `<baseDir>/rabbitmq-<n>`. */
  baseDir: string;
  nodes: ClusterNodePorts[];
  /** Node names are `<namePrefix>-<n>@localhost`. */
  namePrefix: string;
  onOutput?: (node: number, line: string) => void;
  supervise?: (node: number) => SuperviseOptions;
  /** A node's quorum-queue members registered again before a start (see `repairRaNames`). */
  onRepair?: (node: number, members: string[]) => void;
}

export interface LocalRabbitCluster {
  nodes: LocalRabbit[];
  nodeNames: string[];
  /** Every node's AMQP URL, comma-separated: what `AMQP_URL` takes. */
  url: (vhost?: string) => string;
  /** The first node's management API, which shows the whole cluster. */
  managementUrl: string;
  managementPort: number;
  stop: () => Promise<void>;
}

/**
 * A RabbitMQ cluster on this machine: one node per entry of `nodes`, each with its own name, ports and
 * data folder, one Erlang cookie. They form the cluster through classic peer discovery (each node's
 * config lists all of them). On the first start the first node boots alone and the others join it; on
 * later starts all boot together (a node that was not the last to stop waits for its peers).
 */
export async function startRabbitCluster(opts: RabbitClusterOptions): Promise<LocalRabbitCluster> {
  mkdirSync(opts.baseDir, { recursive: true });
  const cookieFile = join(opts.baseDir, 'erlang-cookie');
  if (!existsSync(cookieFile))
    writeFileSync(cookieFile, randomBytes(16).toString('hex').toUpperCase(), { mode: 0o600 });
  const cookie = readFileSync(cookieFile, 'utf8').trim();
  const names = opts.nodes.map((_, i) => `${opts.namePrefix}-${i + 1}@localhost`);
  const discovery = [
    'cluster_formation.peer_discovery_backend = classic_config',
    ...names.map((n, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${n}`),
  ];
  const dir = (i: number) => join(opts.baseDir, `rabbitmq-${i + 1}`);
  const fresh = !existsSync(join(dir(0), 'mnesia'));
  const startNode = (i: number) =>
    startRabbit({
      baseDir: dir(i),
      ...opts.nodes[i]!,
      nodeName: names[i]!,
      extraConfig: discovery,
      erlangCookie: cookie,
      onOutput: opts.onOutput ? (l) => opts.onOutput!(i + 1, l) : undefined,
      supervise: opts.supervise?.(i + 1),
      onRepair: opts.onRepair ? (m) => opts.onRepair!(i + 1, m) : undefined,
    });
  const started: LocalRabbit[] = [];
  const stopAll = async () => {
    await Promise.allSettled(started.map((n) => n.stop()));
  };
  try {
    if (fresh) {
      started.push(await startNode(0));
      const rest = await Promise.allSettled(opts.nodes.slice(1).map((_, i) => startNode(i + 1)));
      for (const r of rest) if (r.status === 'fulfilled') started.push(r.value);
      for (const r of rest) if (r.status === 'rejected') throw r.reason;
    } else {
      const all = await Promise.allSettled(opts.nodes.map((_, i) => startNode(i)));
      for (const r of all) if (r.status === 'fulfilled') started.push(r.value);
      for (const r of all) if (r.status === 'rejected') throw r.reason;
    }
    const mgmt = opts.nodes[0]!.managementPort;
    await until(
      `all ${names.length} RabbitMQ nodes running in one cluster`,
      async () => (await runningNodes(mgmt)).length === names.length,
      60_000,
      500,
    );
  } catch (err) {
    await stopAll();
    throw err;
  }
  const nodes = opts.nodes;
  return {
    nodes: started,
    nodeNames: names,
    url: (vhost = '/') =>
      nodes.map((n) => `amqp://guest:guest@127.0.0.1:${n.port}/${encodeURIComponent(vhost)}`).join(','),
    managementUrl: `http://127.0.0.1:${nodes[0]!.managementPort}`,
    managementPort: nodes[0]!.managementPort,
    stop: stopAll,
  };
}

/** The cluster's running nodes, as one node's management API sees them. */
export async function runningNodes(managementPort: number): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${managementPort}/api/nodes`, {
    headers: authHeader,
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) return [];
  const nodes = (await res.json()) as Array<{ name: string; running: boolean }>;
  return nodes.filter((n) => n.running).map((n) => n.name);
}
