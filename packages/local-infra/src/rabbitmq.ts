import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, which } from './proc';
import { keepServer, type SuperviseOptions } from './keeper';
import { repairRaNames } from './ra-names';

export interface RabbitOptions {
  baseDir: string;
  port: number;
  managementPort: number;
  /** Erlang distribution port; must be free too. */
  distPort: number;
  nodeName: string;
  onOutput?: (line: string) => void;
  /** Restart it with a backoff when it dies on its own (the dev runners; tests crash it on purpose). */
  supervise?: SuperviseOptions;
  /** Extra rabbitmq.conf lines (cluster formation). */
  extraConfig?: string[];
  /**
   * Quorum-queue members registered again before a start (they were missing from Ra's names.dets after
   * a crash; see `repairRaNames`): `name uid` each.
   */
  onRepair?: (members: string[]) => void;
  /** The Erlang cookie, shared by a cluster's nodes and the CLI tools (written to `$HOME/.erlang.cookie`). */
  erlangCookie?: string;
}

export interface LocalRabbit {
  url: (vhost?: string) => string;
  managementUrl: string;
  port: number;
  /** Graceful stop (SIGTERM). */
  stop: () => Promise<void>;
  /** A crash: SIGKILL, no goodbye to clients. */
  kill: () => Promise<void>;
  /** Starts it again on the same ports with the same data. */
  restart: () => Promise<void>;
  /** Starts it after a stop or a kill. */
  start: () => Promise<void>;
  /** The running server process (its process group leader), if any. */
  pid: () => number | undefined;
  /** How many times supervision restarted it. */
  restarts: () => number;
}

export function findRabbitServer(): string | null {
  return which('rabbitmq-server', ['/usr/lib/rabbitmq/bin', '/usr/sbin']);
}

export async function startRabbit(opts: RabbitOptions): Promise<LocalRabbit> {
  const server = findRabbitServer();
  if (!server) throw new Error('RabbitMQ not found: apt-get install -y rabbitmq-server');
  mkdirSync(opts.baseDir, { recursive: true });
  const conf = join(opts.baseDir, 'rabbitmq.conf');
  writeFileSync(
    conf,
    [
      `listeners.tcp.default = 127.0.0.1:${opts.port}`,
      `management.tcp.port = ${opts.managementPort}`,
      'management.tcp.ip = 127.0.0.1',
      'loopback_users = none',
      'log.console = true',
      'log.console.level = warning',
      'log.file = false',
      ...(opts.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  if (opts.erlangCookie) {
    const cookie = join(opts.baseDir, '.erlang.cookie');
    if (existsSync(cookie)) chmodSync(cookie, 0o600);
    writeFileSync(cookie, opts.erlangCookie);
    chmodSync(cookie, 0o400);
  }
  const plugins = join(opts.baseDir, 'enabled_plugins');
  writeFileSync(plugins, '[rabbitmq_management].\n');
  const env = {
    ...process.env,
    HOME: opts.baseDir,
    RABBITMQ_MNESIA_BASE: join(opts.baseDir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(opts.baseDir, 'log'),
    RABBITMQ_NODENAME: opts.nodeName,
    RABBITMQ_NODE_PORT: String(opts.port),
    RABBITMQ_DIST_PORT: String(opts.distPort),
    RABBITMQ_CONFIG_FILE: conf,
    RABBITMQ_ENABLED_PLUGINS_FILE: plugins,
    RABBITMQ_PID_FILE: join(opts.baseDir, 'rabbit.pid'),
    // A broker that shares its machine must not spin: Erlang's schedulers busy-wait after their work runs
    // out unless told not to (RabbitMQ's own scripts default to `none` since 3.7, other launchers may not).
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: [process.env.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS, NO_BUSY_WAIT]
      .filter(Boolean)
      .join(' '),
  };
  const managementUrl = `http://guest:guest@127.0.0.1:${opts.managementPort}`;
  const quorumDir = join(opts.baseDir, 'mnesia', opts.nodeName, 'quorum', opts.nodeName);
  const keeper = keepServer({
    name: 'rabbitmq',
    what: `rabbitmq on port ${opts.port}`,
    spawn: () => {
      // After a kill -9, quorum queues declared just before it would come back leaderless (see ra-names.ts).
      // A repair that fails must not keep the node down: it starts as it would have without one.
      try {
        const repaired = repairRaNames(quorumDir);
        if (repaired.length > 0) opts.onRepair?.(repaired);
      } catch (err) {
        opts.onOutput?.(`[error] quorum-queue name registry not repaired: ${(err as Error).message}`);
      }
      return start(server, [], { env, detached: true });
    },
    ready: async () =>
      (await fetch(`http://127.0.0.1:${opts.managementPort}/api/overview`, { headers: authHeader })).ok,
    timeoutMs: 60_000,
    everyMs: 200,
    onOutput: opts.onOutput,
    supervise: opts.supervise,
  });
  await keeper.start();
  return {
    url: (vhost = '/') => `amqp://guest:guest@127.0.0.1:${opts.port}/${encodeURIComponent(vhost)}`,
    managementUrl,
    port: opts.port,
    stop: () => keeper.stop('SIGTERM', 20_000),
    kill: () => keeper.stop('SIGKILL', 1_000),
    restart: async () => {
      await keeper.stop('SIGTERM', 20_000);
      await keeper.start();
    },
    start: () => keeper.start(),
    pid: () => keeper.current?.pid,
    restarts: () => keeper.restarts,
  };
}

/** Erlang emulator flags that stop idle schedulers from busy-waiting (normal, dirty CPU and dirty I/O). */
export const NO_BUSY_WAIT = '+sbwt none +sbwtdcpu none +sbwtdio none';

export const authHeader = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };

/** Creates a vhost and grants guest every permission on it, through the management API. */
export async function createVhost(managementPort: number, vhost: string): Promise<void> {
  const base = `http://127.0.0.1:${managementPort}/api`;
  const v = encodeURIComponent(vhost);
  const put = async (path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method: 'PUT',
      headers: { ...authHeader, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
  };
  await put(`/vhosts/${v}`);
  await put(`/permissions/${v}/guest`, { configure: '.*', write: '.*', read: '.*' });
}

export async function deleteVhost(managementPort: number, vhost: string): Promise<void> {
  await fetch(`http://127.0.0.1:${managementPort}/api/vhosts/${encodeURIComponent(vhost)}`, {
    method: 'DELETE',
    headers: authHeader,
  }).catch(() => undefined);
}
