/**
 * `npm start` end to end: the dev runner brings up its own Postgres and RabbitMQ (here in a temporary
 * data folder on free ports), migrates, starts every service to /readyz 200, and on SIGTERM stops all
 * of it, leaving no process behind. A second run on the same data folder works too.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@chat/local-infra';
import { waitFor } from '@chat/testkit';
import { root } from '@chat/testkit';

jest.setTimeout(240_000);

const names = ['gateway', 'accounts', 'persistence', 'delivery'] as const;
let dataDir: string;
let env: Record<string, string>;
let ports: Record<string, number>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'chat-dev-'));
  const set = new Set<number>();
  while (set.size < 8) set.add(await freePort());
  const [pg, amqp, mgmt, dist, gateway, accounts, persistence, delivery] = [...set] as number[];
  ports = { gateway: gateway!, accounts: accounts!, persistence: persistence!, delivery: delivery! };
  env = {
    DEV_DATA_DIR: dataDir,
    DEV_SKIP_WEB_BUILD: '1',
    PGPORT_DEV: String(pg),
    AMQP_PORT_DEV: String(amqp),
    AMQP_MGMT_PORT_DEV: String(mgmt),
    AMQP_DIST_PORT_DEV: String(dist),
    GATEWAY_PORT_DEV: String(gateway),
    ACCOUNTS_PORT_DEV: String(accounts),
    PERSISTENCE_PORT_DEV: String(persistence),
    DELIVERY_PORT_DEV: String(delivery),
  };
});

afterAll(() => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Every pid the runner wrote down: services, the postmaster, the broker. */
function recordedPids(): number[] {
  const files = [join(dataDir, 'postgres', 'postmaster.pid'), join(dataDir, 'rabbitmq', 'rabbit.pid')];
  const run = join(dataDir, 'run');
  if (existsSync(run)) files.push(...readdirSync(run).map((f) => join(run, f)));
  return files.filter(existsSync).map((f) => Number(readFileSync(f, 'utf8').split('\n')[0]));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function runOnce(): Promise<void> {
  const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'scripts', 'dev.ts')], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((r) => child.on('exit', (code, sig) => r(code ?? sig ?? -1)));
  try {
    await waitFor(() => /chat is running: http:\/\/localhost:\d+/.test(out) || /start-up failed|cannot start/.test(out), 150_000, 'the runner to come up');
    expect(out).toContain(`chat is running: http://localhost:${ports.gateway}`);
    for (const name of names) {
      const res = await fetch(`http://127.0.0.1:${ports[name]}/readyz`);
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
    }
    const pids = recordedPids();
    expect(pids.length).toBe(6);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    for (const name of names) await expect(fetch(`http://127.0.0.1:${ports[name]}/healthz`)).rejects.toThrow();
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  }
}

describe('npm start (scripts/dev.ts)', () => {
  it('brings the stack to ready and stops all of it on SIGTERM', async () => {
    await runOnce();
  });

  it('runs again on the same data folder', async () => {
    await runOnce();
  });
});
