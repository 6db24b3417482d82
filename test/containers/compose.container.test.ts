import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Api, type BenchUser, type ChatSocket } from '@chat/client';
import type { Message } from '@chat/contracts';
import { waitFor } from '@chat/testkit';

/**
 * The compose stack as a user with Docker runs it: the project's images built from infra/Dockerfile,
 * `up --build --scale delivery=4`, messages through the gateway's published port, history, delivery
 * scaled down to 1 and up to 4 again, then `down -v`. The engine here is rootful podman serving the
 * Docker API (`podman system service`) to docker-compose; base images are the stand-ins of
 * infra/standin/build.sh unless NODE_IMAGE, POSTGRES_IMAGE and RABBITMQ_IMAGE are given.
 * Run by `npm run test:containers` (and .ci/run), not by `npm test`.
 */
const root = join(__dirname, '..', '..');
const project = process.env.CONTAINER_TEST_PROJECT ?? 'chatct';
const work = mkdtempSync(join(tmpdir(), 'chat-containers-'));
const socketPath = join(work, 'podman.sock');

// This machine's podman needs runc, cgroupfs and no default ulimits (see docs/operations.md); a
// CONTAINERS_CONF in the environment wins.
const containersConf = process.env.CONTAINERS_CONF ?? join(work, 'containers.conf');
if (!process.env.CONTAINERS_CONF) {
  writeFileSync(
    containersConf,
    '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n',
  );
}

const env: NodeJS.ProcessEnv = {
  ...process.env,
  CONTAINERS_CONF: containersConf,
  DOCKER_HOST: `unix://${socketPath}`,
  COMPOSE_PROJECT_NAME: project,
  COMPOSE_DOCKER_CLI_BUILD: '0',
  DOCKER_BUILDKIT: '0',
  LOG_LEVEL: 'warn',
};

// Everything the tools print goes to test-results/containers/compose.log (git-ignored), for CI.
const logDir = join(root, 'test-results', 'containers');
mkdirSync(logDir, { recursive: true });
const logFile = join(logDir, 'compose.log');
writeFileSync(logFile, '');

function run(cmd: string, args: string[], timeoutMs = 120_000, quiet = false): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!quiet) appendFileSync(logFile, `\n$ ${cmd} ${args.join(' ')}\n`);
    execFile(cmd, args, { cwd: root, env, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!quiet || err) appendFileSync(logFile, `${stdout}${stderr}`);
      if (err)
        reject(
          new Error(
            `${cmd} ${args.join(' ')} failed (log: ${logFile}): ${err.message}\n${`${stdout}\n${stderr}`.slice(-4000)}`,
          ),
        );
      else resolve(stdout);
    });
  });
}
const compose = (args: string[], timeoutMs?: number) =>
  run('docker-compose', ['-f', 'docker-compose.yml', ...args], timeoutMs);
const podman = (args: string[], timeoutMs?: number, quiet = false) => run('podman', args, timeoutMs, quiet);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The project's containers of one service that are running, by name. */
async function running(service: string): Promise<string[]> {
  const out = await podman([
    'ps',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
    '--format',
    '{{.Names}}',
  ]);
  return out.split('\n').filter(Boolean).sort();
}

let service: ChildProcess | undefined;
let ticker: NodeJS.Timeout | undefined;
let origin = '';
let mgmt = '';
let adminAuth = '';
let api: Api;
let a: BenchUser;
let b: BenchUser;
let conversationId = '';
const sockets: ChatSocket[] = [];

/** A Go duration as podman prints it ("10s", "1m30s", "500ms") in ms; 0 when there is none. */
function goDurationMs(d: string): number {
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };
  let ms = 0;
  for (const [, n, u] of d.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) ms += Number(n) * (unit[u!] ?? 0);
  return ms;
}

/**
 * Podman without systemd does not schedule health checks: run them as the engine would, each
 * container's at its own interval (its start period and retries are podman's to apply).
 */
function startHealthTicker(): void {
  let busy = false;
  const intervalMs = new Map<string, number>();
  const lastRun = new Map<string, number>();
  ticker = setInterval(() => {
    if (busy) return;
    busy = true;
    const tick = async () => {
      const out = await podman(
        ['ps', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.ID}}'],
        30_000,
        true,
      );
      await Promise.all(
        out
          .split('\n')
          .filter(Boolean)
          .map(async (id) => {
            if (!intervalMs.has(id)) {
              const d = (
                await podman(['inspect', '--format', '{{.Config.Healthcheck.Interval}}', id], 30_000, true)
              ).trim();
              intervalMs.set(id, goDurationMs(d)); // 0: no health check
            }
            const every = intervalMs.get(id)!;
            if (!every || Date.now() - (lastRun.get(id) ?? 0) < every) return;
            lastRun.set(id, Date.now());
            await podman(['healthcheck', 'run', id], 30_000, true).catch(() => undefined);
          }),
      );
    };
    tick()
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, 1_000);
}

async function management<T>(path: string): Promise<T> {
  const res = await fetch(`${mgmt}/api${path}`, { headers: { authorization: adminAuth } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
  return (await res.json()) as T;
}
const consumersOf = async (queue: string) =>
  (await management<{ consumers: number }>(`/queues/%2F/${encodeURIComponent(queue)}`)).consumers;

/** Sends `n` messages from a and awaits every one at b, live; returns their ids. */
async function exchange(n: number, label: string): Promise<string[]> {
  const [sa, sb] = sockets as [ChatSocket, ChatSocket];
  const got = new Set<string>();
  const onNew = (m: Message) => got.add(m.id);
  sb.on('message:new', onNew);
  const ids: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const res = await new Promise<{ ok: boolean; message?: Message; error?: unknown }>((resolve) =>
        sa
          .timeout(15_000)
          .emit(
            'message:send',
            { conversationId, clientMsgId: randomUUID(), body: `${label} ${i}` },
            (err: Error | null, r?: { ok: boolean; message?: Message }) =>
              resolve(err || !r ? { ok: false, error: err?.message ?? 'no ack' } : r),
          ),
      );
      expect(res).toMatchObject({ ok: true });
      ids.push(res.message!.id);
    }
    await waitFor(
      () => ids.every((id) => got.has(id)),
      30_000,
      `${n} "${label}" messages delivered live to the other member`,
    );
  } finally {
    sb.off('message:new', onNew);
  }
  return ids;
}

beforeAll(async () => {
  for (const tool of ['podman', 'docker-compose']) {
    await run(tool, ['version']).catch((err: Error) => {
      throw new Error(
        `${tool} is required (apt-get install -y podman runc docker-compose debootstrap): ${err.message}`,
      );
    });
  }
  // Base images: the official ones cannot be pulled here; stand-ins are built once and then reused.
  if (!process.env.NODE_IMAGE) {
    const out = await run(join(root, 'infra', 'standin', 'build.sh'), [], 30 * 60_000);
    for (const line of out.split('\n')) {
      const m = /^(NODE_IMAGE|POSTGRES_IMAGE|RABBITMQ_IMAGE)=(.+)$/.exec(line.trim());
      if (m) env[m[1]!] = m[2]!;
    }
  }
  // Secrets as a user makes them (infra/gen-secrets.sh), handed to compose through the environment.
  const secrets = join(work, 'secrets.env');
  await run(join(root, 'infra', 'gen-secrets.sh'), [secrets]);
  for (const line of readFileSync(secrets, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  const [gatewayPort, mgmtPort] = [await freePort(), await freePort()];
  env.GATEWAY_PUBLISH = `127.0.0.1:${gatewayPort}`;
  env.RABBITMQ_MANAGEMENT_PORT = String(mgmtPort);
  origin = `http://127.0.0.1:${gatewayPort}`;
  mgmt = `http://127.0.0.1:${mgmtPort}`;
  adminAuth = `Basic ${Buffer.from(`${env.RABBITMQ_ADMIN_USER}:${env.RABBITMQ_ADMIN_PASSWORD}`).toString('base64')}`;

  service = spawn('podman', ['system', 'service', '--time=0', `unix://${socketPath}`], { env, stdio: 'ignore' });
  await waitFor(() => existsSync(socketPath), 30_000, 'the podman API socket');
  startHealthTicker();

  await compose(['down', '-v', '--remove-orphans'], 300_000).catch(() => undefined); // a previous run's leftovers
  const started = Date.now();
  await compose(['up', '-d', '--build', '--scale', 'delivery=4'], 40 * 60_000);
  await waitFor(
    async () => (await fetch(`${origin}/readyz`)).ok,
    180_000,
    'the gateway ready on its published port',
    500,
  );
  process.stdout.write(
    `[containers] up --build --scale delivery=4 and ready in ${Math.round((Date.now() - started) / 1000)} s\n`,
  );

  api = new Api(origin);
  const prefix = `ct${Date.now().toString(36)}`;
  a = await api.register(prefix, 0);
  b = await api.register(prefix, 1);
  conversationId = await api.befriend(a, b);
  sockets.push(await api.connect(a.token), await api.connect(b.token));
}, 60 * 60_000);

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await compose(['ps'], 60_000).catch(() => undefined);
  await compose(['logs', '--no-color', '--tail', '100'], 120_000).catch(() => undefined);
  await compose(['down', '-v', '--remove-orphans'], 300_000).catch((err: Error) =>
    process.stderr.write(`${err.message}\n`),
  );
  if (ticker) clearInterval(ticker);
  service?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}, 10 * 60_000);

describe('docker compose: images built, stack up, delivery scaled', () => {
  it('runs 4 delivery workers as competing consumers, each service as its own broker user', async () => {
    expect(await running('delivery')).toHaveLength(4);
    await waitFor(
      async () => (await consumersOf('delivery.events')) === 4,
      60_000,
      '4 consumers on delivery.events',
      1_000,
    );
    // The management API lists connections from its periodic statistics: await all four users.
    const users = await waitFor(
      async () => {
        const set = new Set((await management<Array<{ user: string }>>('/connections')).map((c) => c.user));
        return set.size >= 4 ? set : null;
      },
      60_000,
      'connections of all four services',
      1_000,
    );
    expect(users).toEqual(new Set(['accounts', 'persistence', 'delivery', 'gateway']));
    // The management UI is published on loopback only.
    const [rabbit] = await running('rabbitmq');
    expect((await podman(['port', rabbit!])).trim()).toMatch(/^15672\/tcp -> 127\.0\.0\.1:\d+$/);
  });

  it('lets each service publish only where its role does, and none administer the broker', async () => {
    const perms =
      await management<Array<{ user: string; configure: string; write: string; read: string }>>('/permissions');
    const of = (u: string) => perms.find((p) => p.user === u)!;
    const may = (re: string, name: string) => new RegExp(re).test(name);
    expect(may(of('delivery').write, 'chat.deliveries')).toBe(true);
    expect(may(of('delivery').configure, 'gateway.x')).toBe(false);
    expect(may(of('persistence').write, 'chat.events')).toBe(false);
    expect(may(of('persistence').write, 'chat.deliveries')).toBe(false);
    expect(may(of('gateway').write, 'chat.deliveries')).toBe(false);
    expect(may(of('gateway').write, 'chat.events')).toBe(true);
    expect(may(of('accounts').configure, 'gateway.x')).toBe(false);
    expect(may(of('accounts').write, 'chat.deliveries')).toBe(false);
    const users = await management<Array<{ name: string; tags: string | string[] }>>('/users');
    for (const u of ['accounts', 'persistence', 'delivery', 'gateway']) {
      expect({ u, tags: [users.find((x) => x.name === u)?.tags ?? 'missing'].flat().join(',') }).toEqual({
        u,
        tags: '',
      });
    }
  });

  it('delivers messages sent through the gateway and keeps them in history, while delivery scales down and up', async () => {
    const sent = await exchange(20, 'four workers');

    await compose(['up', '-d', '--no-recreate', '--scale', 'delivery=1'], 600_000);
    await waitFor(async () => (await running('delivery')).length === 1, 120_000, 'one delivery container', 1_000);
    await waitFor(
      async () => (await consumersOf('delivery.events')) === 1,
      60_000,
      'one consumer on delivery.events',
      1_000,
    );
    sent.push(...(await exchange(10, 'one worker')));

    await compose(['up', '-d', '--no-recreate', '--scale', 'delivery=4'], 600_000);
    await waitFor(async () => (await running('delivery')).length === 4, 120_000, 'four delivery containers', 1_000);
    await waitFor(
      async () => (await consumersOf('delivery.events')) === 4,
      120_000,
      '4 consumers on delivery.events again',
      1_000,
    );
    sent.push(...(await exchange(10, 'four again')));

    const history = await waitFor(
      async () => {
        const h = await api.history(conversationId, b.token);
        return h.length >= sent.length ? h : null;
      },
      30_000,
      'every message in history',
    );
    expect(history.map((m) => m.id)).toEqual(sent);
  });
});
