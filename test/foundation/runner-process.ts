/**
 * For the tests of the dev runners (`npm start`, `npm run start:cluster`): their port variables on free
 * ports with a temporary data folder, the runner as a child process with its output collected, and the
 * pids it wrote down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@chat/local-infra';
import { root, waitFor } from '@chat/testkit';

export const SERVICE_PORTS = ['gateway', 'accounts', 'persistence', 'delivery'] as const;

export interface RunnerEnv {
  dataDir: string;
  env: Record<string, string>;
  ports: Record<(typeof SERVICE_PORTS)[number] | 'amqp' | 'management', number>;
}

/** A temporary data folder and 8 distinct free ports in the runners' variables; the web build skipped. */
export async function runnerEnv(prefix: string): Promise<RunnerEnv> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const set = new Set<number>();
  while (set.size < 8) set.add(await freePort());
  const [pg, amqp, mgmt, dist, gateway, accounts, persistence, delivery] = [...set] as number[];
  return {
    dataDir,
    ports: {
      amqp: amqp!,
      management: mgmt!,
      gateway: gateway!,
      accounts: accounts!,
      persistence: persistence!,
      delivery: delivery!,
    },
    env: {
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
    },
  };
}

export interface RunnerProcess {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | string>;
  /** Waits for the runner's "chat is running" (or its start-up failure) and expects the former. */
  up: (timeoutMs?: number) => Promise<void>;
  /** SIGTERM unless it already exited, then its exit. */
  stop: () => Promise<number | string>;
}

/** Starts `scripts/<script>` the way its npm script does (tsx), with `env` over this process's. */
export function startRunner(script: string, env: Record<string, string>): RunnerProcess {
  const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'scripts', script)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((r) => child.on('exit', (code, sig) => r(code ?? sig ?? -1)));
  return {
    child,
    out: () => out,
    exited,
    up: async (timeoutMs = 150_000) => {
      await waitFor(
        () => /chat is running: http:\/\/localhost:\d+/.test(out) || /start-up failed|cannot start/.test(out),
        timeoutMs,
        'the runner to come up',
      );
      expect(out).toContain(`chat is running: http://localhost:${env.GATEWAY_PORT_DEV}`);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Every pid the runner wrote down: services (and HAProxy), the postmaster, the broker node(s). */
export function recordedPids(dataDir: string): number[] {
  const files = [join(dataDir, 'postgres', 'postmaster.pid')];
  for (const d of existsSync(dataDir) ? readdirSync(dataDir) : [])
    if (/^rabbitmq(-\d+)?$/.test(d)) files.push(join(dataDir, d, 'rabbit.pid'));
  const run = join(dataDir, 'run');
  if (existsSync(run)) files.push(...readdirSync(run).map((f) => join(run, f)));
  return files.filter(existsSync).map((f) => Number(readFileSync(f, 'utf8').split('\n')[0]));
}

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
