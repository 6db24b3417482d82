import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcess } from '@chat/local-infra';
import {
  createTestDatabase,
  createTestVhost,
  startServiceProcess,
  waitUntilReady,
  type ServiceProcess,
  type TestDatabase,
  type TestVhost,
} from '@chat/testkit';

export type ServiceName = 'accounts' | 'persistence' | 'delivery' | 'gateway';

export interface Proc {
  name: ServiceName;
  port: number;
  /** A gateway's operator listener (/metrics, /readyz): its own port, never the public origin. */
  opsPort?: number;
  env: Record<string, string>;
  process: ServiceProcess;
}

export interface StackOptions {
  gateways?: number;
  deliveries?: number;
  /** Use this broker instead of the run's shared one (a private RabbitMQ a test may restart). */
  amqpUrl?: string;
  /** Use this (migrated) database instead of a clone on the run's shared Postgres (a private one a test may stop). */
  databaseUrl?: string;
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** How long each process may take to report ready (default 60 s: a loaded CI machine, a cold tsx cache). */
  readyTimeoutMs?: number;
}

/**
 * The whole backend as real processes (each service's own main.ts), on free ports, with this test's own
 * database and vhost: what system tests kill, restart and talk to through the public origin only.
 */
export class Stack {
  readonly procs: Proc[] = [];
  private db!: TestDatabase;
  private vhost?: TestVhost;
  private keysDir = mkdtempSync(join(tmpdir(), 'chat-keys-'));
  amqpUrl = '';
  private ports = new Map<ServiceName, number>();
  private stopped = false;
  private readonly handedOut = new Set<number>();
  /** Processes the test stops on purpose (kill, terminate); any other exit before stop() is a crash. */
  private readonly stoppedOnPurpose = new Set<Proc>();
  private readonly crashed: Proc[] = [];

  constructor(private readonly opts: StackOptions = {}) {}

  async start(): Promise<this> {
    this.db = this.opts.databaseUrl
      ? { url: this.opts.databaseUrl, name: new URL(this.opts.databaseUrl).pathname.slice(1), drop: async () => {} }
      : await createTestDatabase();
    if (this.opts.amqpUrl) this.amqpUrl = this.opts.amqpUrl;
    else {
      this.vhost = await createTestVhost();
      this.amqpUrl = this.vhost.url;
    }
    for (const name of ['accounts', 'persistence'] as const) this.ports.set(name, await this.freshPort());
    await Promise.all([this.spawn('accounts'), this.spawn('persistence')]);
    const more: Promise<Proc>[] = [];
    for (let i = 0; i < (this.opts.deliveries ?? 1); i++) more.push(this.spawn('delivery'));
    for (let i = 0; i < (this.opts.gateways ?? 1); i++) more.push(this.spawn('gateway'));
    await Promise.all(more);
    return this;
  }

  private baseUrl(name: ServiceName) {
    return `http://127.0.0.1:${this.ports.get(name)}`;
  }

  envFor(name: ServiceName): Record<string, string> {
    // Every internal call of the system tests carries the service credential, as in a deployment.
    const common = {
      AMQP_URL: this.amqpUrl,
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '10000',
      INTERNAL_TOKEN: 'system-test-internal-token',
    };
    const accounts = this.baseUrl('accounts');
    const byName: Record<ServiceName, Record<string, string>> = {
      // The tests register many users and rooms from one address.
      accounts: {
        DATABASE_URL: this.db.url,
        KEYS_DIR: this.keysDir,
        PERSISTENCE_URL: this.baseUrl('persistence'),
        REGISTER_RATE_MAX_PER_ADDRESS: '100000',
        ROOM_CREATE_RATE_MAX: '100000',
        INVITE_RATE_MAX: '100000',
        FRIEND_REQUEST_RATE_MAX: '100000',
      },
      persistence: { DATABASE_URL: this.db.url, ACCOUNTS_URL: accounts, JWKS_URL: `${accounts}/.well-known/jwks.json` },
      delivery: { ACCOUNTS_URL: accounts },
      gateway: {
        ACCOUNTS_URL: accounts,
        PERSISTENCE_URL: this.baseUrl('persistence'),
        JWKS_URL: `${accounts}/.well-known/jwks.json`,
        SEND_RATE_PER_SEC: '1000',
        SEND_RATE_BURST: '2000',
      },
    };
    return { ...common, ...byName[name], ...(this.opts.env?.[name] ?? {}) };
  }

  /**
   * A free port this stack has not handed out before: freePort() closes its probe, so two calls (two
   * gateways started at once, a gateway's two listeners) may otherwise get the same one.
   */
  private async freshPort(): Promise<number> {
    for (;;) {
      const p = await freePort();
      if (!this.handedOut.has(p)) {
        this.handedOut.add(p);
        return p;
      }
    }
  }

  /** Starts one more process of a service and waits for its /readyz. */
  async spawn(name: ServiceName, port?: number): Promise<Proc> {
    // A start still under way when the stack is stopped (its beforeAll timed out) starts nothing more:
    // a process spawned after stop() would outlive the test run.
    if (this.stopped) throw new Error(`stack stopped: ${name} not started`);
    const p = port ?? this.ports.get(name) ?? (await this.freshPort());
    if (name === 'accounts' || name === 'persistence') this.ports.set(name, p);
    const opsPort = name === 'gateway' ? await this.freshPort() : undefined;
    const env = { ...this.envFor(name), PORT: String(p), ...(opsPort ? { OPS_PORT: String(opsPort) } : {}) };
    if (this.stopped) throw new Error(`stack stopped: ${name} not started`);
    const proc: Proc = { name, port: p, opsPort, env, process: startServiceProcess(name, env) };
    this.procs.push(proc);
    void proc.process.exited.then(() => {
      if (!this.stopped && !this.stoppedOnPurpose.has(proc)) this.crashed.push(proc);
    });
    await this.ready(proc, this.opts.readyTimeoutMs);
    return proc;
  }

  async ready(proc: Proc, timeoutMs = 60_000): Promise<void> {
    await waitUntilReady(proc.name, proc.process, proc.port, timeoutMs);
  }

  all(name: ServiceName): Proc[] {
    return this.procs.filter(
      (p) => p.name === name && p.process.child.exitCode === null && p.process.child.signalCode === null,
    );
  }

  /** This stack's own database and vhost (for tests that inspect what the servers stored or carried). */
  get database(): TestDatabase {
    return this.db;
  }
  get testVhost(): TestVhost | undefined {
    return this.vhost;
  }

  origin(i = 0): string {
    const gw = this.procs.filter((p) => p.name === 'gateway')[i];
    if (!gw) throw new Error(`no gateway #${i}`);
    return `http://127.0.0.1:${gw.port}`;
  }

  /** SIGKILL: a crash, nothing finishes. */
  async kill(proc: Proc): Promise<void> {
    this.stoppedOnPurpose.add(proc);
    await stopProcess(proc.process.child, 1_000, 'SIGKILL');
  }

  /** SIGTERM: the graceful path. Resolves with the exit code. */
  async terminate(proc: Proc): Promise<number | string> {
    this.stoppedOnPurpose.add(proc);
    proc.process.child.kill('SIGTERM');
    return proc.process.exited;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // A service that died on its own makes the test fail as "fetch failed" or a timeout: say which and why.
    for (const proc of this.crashed)
      process.stderr.write(
        `[stack] ${proc.name} on port ${proc.port} exited on its own:\n${proc.process.explain(40)}\n`,
      );
    await Promise.allSettled(this.procs.map((p) => stopProcess(p.process.child, 5_000, 'SIGTERM')));
    await Promise.allSettled([this.db?.drop(), this.vhost?.drop()]);
    rmSync(this.keysDir, { recursive: true, force: true });
  }
}

/**
 * A Stack started before a test file's tests and stopped after them; `track` registers sockets to close
 * at the end. For files that share one stack across their tests.
 */
export function useStack(opts: StackOptions = {}) {
  const stack = new Stack(opts);
  const sockets: Array<{ close: () => unknown }> = [];
  // Two rounds of start-ups, each up to a minute on a loaded machine (tsx compiles each service cold).
  beforeAll(() => stack.start(), 150_000);
  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await stack.stop();
  }, 60_000);
  return {
    stack,
    track: <T extends { close: () => unknown }>(...s: T[]): T[] => {
      sockets.push(...s);
      return s;
    },
  };
}
