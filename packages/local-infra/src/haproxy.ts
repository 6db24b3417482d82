import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { keepServer, type SuperviseOptions } from './keeper';
import { portInUse, start, which } from './proc';

export interface HaproxyOptions {
  /** Its config file goes here. */
  dir: string;
  /** The public origin: what clients connect to. */
  port: number;
  backends: Array<{ name: string; port: number }>;
  /** Health-check interval (default 1000 ms); a backend is out after 2 failed checks, in after 2 good ones. */
  checkIntervalMs?: number;
  onOutput?: (line: string) => void;
  supervise?: SuperviseOptions;
  /** Written with the running HAProxy's pid at its start and at every restart by `supervise`. */
  pidFile?: string;
}

export interface LocalHaproxy {
  url: string;
  configFile: string;
  stop: () => Promise<void>;
  pid: () => number | undefined;
}

export function findHaproxy(): string | null {
  return which('haproxy', ['/usr/sbin']);
}

/**
 * The load balancer in front of several gateways (HAProxy from Debian's packages). HTTP and Socket.IO's
 * WebSocket upgrade go through; a cookie keeps a client on its gateway (Socket.IO's polling transport
 * needs every request of a session on one instance); `/readyz` decides which gateways take traffic.
 * When a gateway goes, its sessions are cut at once (`on-marked-down shutdown-sessions`, or the
 * gateway's own socket closing) and a client's next connection lands on a live one (`option redispatch`
 * ignores the cookie of a dead server).
 */
export function haproxyConfig(opts: Pick<HaproxyOptions, 'port' | 'backends' | 'checkIntervalMs'>): string {
  const inter = opts.checkIntervalMs ?? 1_000;
  return [
    'global',
    '  maxconn 4096',
    '',
    'defaults',
    '  mode http',
    '  option http-server-close',
    '  option forwardfor',
    '  option redispatch',
    '  retries 2',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    // Established WebSockets: Socket.IO pings every 25 s, so an idle socket is never this quiet.
    '  timeout tunnel 1h',
    '  timeout http-request 10s',
    '',
    'frontend public',
    `  bind 127.0.0.1:${opts.port}`,
    '  default_backend gateways',
    '',
    'backend gateways',
    '  balance roundrobin',
    '  cookie CHATGW insert indirect nocache httponly',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    `  default-server check inter ${inter} fall 2 rise 2 on-marked-down shutdown-sessions`,
    ...opts.backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} cookie ${b.name}`),
    '',
  ].join('\n');
}

export async function startHaproxy(opts: HaproxyOptions): Promise<LocalHaproxy> {
  const bin = findHaproxy();
  if (!bin) throw new Error('HAProxy not found: apt-get install -y haproxy');
  mkdirSync(opts.dir, { recursive: true });
  const configFile = join(opts.dir, 'haproxy.cfg');
  writeFileSync(configFile, haproxyConfig(opts));
  const keeper = keepServer({
    name: 'haproxy',
    what: `haproxy on port ${opts.port}`,
    // -db: stay in the foreground, so it is supervised and stopped like the other processes.
    spawn: () => {
      const child = start(bin, ['-db', '-f', configFile], { detached: true });
      // Its own process group (detached), so this pid is what a later run stops after a hard kill.
      if (opts.pidFile && child.pid) {
        mkdirSync(dirname(opts.pidFile), { recursive: true });
        writeFileSync(
          opts.pidFile,
          `${child.pid}
`,
        );
      }
      return child;
    },
    ready: () => portInUse(opts.port),
    timeoutMs: 10_000,
    onOutput: opts.onOutput,
    supervise: opts.supervise,
  });
  await keeper.start();
  return {
    url: `http://127.0.0.1:${opts.port}`,
    configFile,
    stop: () => keeper.stop('SIGTERM', 5_000),
    pid: () => keeper.current?.pid,
  };
}
