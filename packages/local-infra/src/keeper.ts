import type { ChildProcess } from 'node:child_process';
import { stopProcess, until, watchOutput } from './proc';

/** What a supervised server reports; every field optional. */
export interface SuperviseOptions {
  /** It died on its own; the next start is in `restartInMs`. */
  onDied?: (how: string, restartInMs: number) => void;
  /** Accepting again, `downMs` after it died. */
  onRestarted?: (downMs: number) => void;
  /** A restart attempt failed; another follows in `retryInMs`. */
  onRestartFailed?: (err: Error, retryInMs: number) => void;
  /** First delay after a death (default 200 ms), doubled per failed or short-lived run up to `maxBackoffMs` (30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A run this long counts as healthy: the next death starts again from `initialBackoffMs` (30 s). */
  stableMs?: number;
}

/**
 * Launches one server process and, when `supervise` is given, starts it again with a backoff each time
 * it dies on its own. `launch` spawns the process, hands it to `register` at once (so a stop during a
 * slow start-up still reaches it) and resolves once the server accepts clients. `stop` ends whatever
 * runs now, the first process or any restart of it.
 */
export class Keeper {
  private child: ChildProcess | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private launching: Promise<void> | undefined;
  private backoffMs: number;
  private startedAt = 0;
  restarts = 0;

  constructor(
    private readonly launch: (register: (child: ChildProcess) => void) => Promise<void>,
    private readonly supervise?: SuperviseOptions,
  ) {
    this.backoffMs = supervise?.initialBackoffMs ?? 200;
  }

  /** The running process, if any. */
  get current(): ChildProcess | undefined {
    return this.child;
  }

  /** Starts it (again, after a stop or a kill); rejects when it does not come up. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.run();
  }

  private async run(): Promise<void> {
    const p = this.launch((child) => {
      this.child = child;
      child.once('exit', (code, signal) => this.onExit(child, code, signal));
    });
    this.launching = p;
    try {
      await p;
      this.startedAt = Date.now();
    } catch (err) {
      // A start-up that timed out may have left its process running: end it before anyone tries again.
      if (this.child) await stopProcess(this.child, 5_000, 'SIGKILL');
      throw err;
    } finally {
      this.launching = undefined;
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    // A death during start-up is the launch's failure, handled where it is awaited.
    if (this.stopped || !this.supervise || this.launching) return;
    const s = this.supervise;
    if (Date.now() - this.startedAt > (s.stableMs ?? 30_000)) this.backoffMs = s.initialBackoffMs ?? 200;
    const diedAt = Date.now();
    s.onDied?.(signal ? `signal ${signal}` : `exit code ${code}`, this.backoffMs);
    this.schedule(diedAt);
  }

  private schedule(diedAt: number): void {
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.supervise?.maxBackoffMs ?? 30_000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      this.run().then(
        () => {
          this.restarts++;
          this.supervise?.onRestarted?.(Date.now() - diedAt);
        },
        async (err: Error) => {
          if (this.stopped) return;
          this.supervise?.onRestartFailed?.(err, this.backoffMs);
          this.schedule(diedAt);
        },
      );
    }, delay);
  }

  /** Stops what runs now (and any restart under way); no restart follows. */
  async stop(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.child) await stopProcess(this.child, graceMs, signal);
    await this.launching?.catch(() => undefined);
    if (this.child) await stopProcess(this.child, graceMs, signal);
  }
}

/**
 * A Keeper of one server process: `spawn` starts it, its output goes line by line to `onOutput`, and it
 * is up once `ready` says so (polled every `everyMs` for up to `timeoutMs`; `what` names the wait). An
 * early exit is reported with the tail of its output.
 */
export function keepServer(opts: {
  name: string;
  what: string;
  spawn: () => ChildProcess;
  ready: () => Promise<boolean>;
  timeoutMs: number;
  everyMs?: number;
  onOutput?: (line: string) => void;
  supervise?: SuperviseOptions;
}): Keeper {
  return new Keeper(async (register) => {
    const child = opts.spawn();
    register(child);
    const status = watchOutput(child, opts.onOutput);
    await until(
      opts.what,
      async () => {
        if (status().exited) throw new Error(`${opts.name} exited: ${status().tail}`);
        return opts.ready();
      },
      opts.timeoutMs,
      opts.everyMs,
    );
  }, opts.supervise);
}
