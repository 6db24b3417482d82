import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { serviceCommand, stopProcess } from '@chat/local-infra';
import { colours, fail, info, pipeLines, warn } from './output';
import { forgetPid, recordPid } from './leftovers';

export interface ServiceSpec {
  /** Its label in the output and pid file (`gateway-2` when several instances run). */
  name: string;
  /** Which service it runs, when `name` is an instance label (default: `name`). */
  service?: string;
  port: number;
  env: Record<string, string>;
}

/** Exit code of a service refusing its configuration: restarting would not help. */
const EX_CONFIG = 78;
const MAX_BACKOFF_MS = 30_000;
/** A run this long counts as healthy: the next crash starts the backoff again from one second. */
const STABLE_MS = 30_000;

/**
 * Runs one service as a child process group, prefixes its output, and restarts it with an exponential
 * backoff when it dies on its own.
 */
export class Supervised {
  private child: ChildProcess | undefined;
  private stopping = false;
  private backoffMs = 1_000;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  restarts = 0;

  constructor(
    private readonly root: string,
    private readonly dataDir: string,
    readonly spec: ServiceSpec,
  ) {}

  get entry(): string {
    return join(this.root, 'services', this.spec.service ?? this.spec.name, 'src', 'main.ts');
  }

  exists(): boolean {
    return existsSync(this.entry);
  }

  /** The service's process: `gateway-2` runs the gateway (an instance label is not a service). */
  command(): { command: string; args: string[] } {
    return serviceCommand(this.spec.service ?? this.spec.name, this.root);
  }

  start(): void {
    const { command, args } = this.command();
    this.startedAt = Date.now();
    // Own process group (detached): the terminal's Ctrl-C reaches only the runner, which then stops
    // services first and the servers after them, in that order.
    const child = spawn(command, args, {
      cwd: this.root,
      env: { ...process.env, ...this.spec.env, PORT: String(this.spec.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    recordPid(this.dataDir, this.spec.name, child.pid);
    pipeLines(this.spec.name, child.stdout);
    pipeLines(this.spec.name, child.stderr);
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    forgetPid(this.dataDir, this.spec.name);
    if (this.stopping) return;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (code === EX_CONFIG) {
      fail(`${this.spec.name} refused its configuration (${how}); fix it and restart npm start. Not restarting.`);
      return;
    }
    if (Date.now() - this.startedAt > STABLE_MS) this.backoffMs = 1_000;
    fail(colours.bold(`${this.spec.name} DIED (${how}); restarting in ${this.backoffMs / 1000}s`));
    this.restartTimer = setTimeout(() => {
      this.restarts++;
      this.start();
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    // The service's own graceful shutdown has SHUTDOWN_TIMEOUT_MS (10 s by default); give it a margin.
    if (child) await stopProcess(child, 15_000, 'SIGTERM');
  }

  /** Polls /readyz until 200; returns the last answer when it gives up. */
  async waitReady(timeoutMs: number): Promise<{ ok: boolean; last: string }> {
    const url = `http://127.0.0.1:${this.spec.port}/readyz`;
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline && !this.stopping) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        last = `${res.status} ${await res.text()}`;
        if (res.status === 200) return { ok: true, last };
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return { ok: false, last };
  }
}

/** Starts the services that exist (warns about those not written yet) and waits for every /readyz. */
export async function startServices(
  root: string,
  dataDir: string,
  specs: ServiceSpec[],
  readyTimeoutMs: number,
  /**
   * Filled as each service starts, before they are ready: a Ctrl-C during start-up stops them (and
   * their restarts) through it, first, instead of finding them by their pid files after the servers.
   */
  running: Supervised[] = [],
): Promise<Supervised[]> {
  for (const spec of specs) {
    const s = new Supervised(root, dataDir, spec);
    if (!s.exists()) {
      warn(`${spec.name}: ${s.entry} does not exist yet; skipped`);
      continue;
    }
    s.start();
    running.push(s);
  }
  const results = await Promise.all(running.map(async (s) => [s, await s.waitReady(readyTimeoutMs)] as const));
  for (const [s, r] of results) {
    if (r.ok) info(`${s.spec.name} ready on http://127.0.0.1:${s.spec.port} ${colours.grey('(/readyz 200)')}`);
    else warn(`${s.spec.name} is not ready after ${readyTimeoutMs / 1000}s: /readyz said ${r.last}`);
  }
  return running;
}
