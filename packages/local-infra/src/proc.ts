import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';

export function which(cmd: string, extraDirs: string[] = []): string | null {
  for (const d of extraDirs) if (existsSync(`${d}/${cmd}`)) return `${d}/${cmd}`;
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(cmd: string, args: string[], opts: SpawnOptions & { asUser?: string } = {}): string {
  const [c, a] = opts.asUser ? ['runuser', ['-u', opts.asUser, '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(c, a, { ...opts, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

export function start(cmd: string, args: string[], opts: SpawnOptions & { asUser?: string } = {}): ChildProcess {
  const [c, a] = opts.asUser ? ['runuser', ['-u', opts.asUser, '--', cmd, ...args]] : [cmd, args];
  return spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/** The ports Linux gives outgoing connections (net.ipv4.ip_local_port_range), 32768-60999 by default. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // Not Linux, or no /proc: the default range.
  }
  return [32768, 60999];
}

/** Where `freePort` looks: from here up to this far below the ephemeral range. */
const LOWEST_PORT = 10_000;
/** Room above a port for the consecutive ones the cluster runner takes after it (scripts/lib/ports.ts). */
const HEADROOM = 200;
/** The range is split between this many jest workers (JEST_WORKER_ID). */
const SLICES = 8;
/** Ports this process handed out already. */
const handedOut = new Set<number>();

/**
 * A port free now, for a server started a moment later (often a child process: RabbitMQ takes seconds
 * to listen). Picked at random BELOW the kernel's range for outgoing connections: a port the OS assigns
 * (`listen(0)`) comes from that range, and until the server binds it, any client connection on the
 * machine may take it, or a neighbour the cluster runner takes next, as its source port (CI: a cluster
 * node's AMQP port, the base + 1, `eaddrinuse`). Below the range only other listeners compete, and
 * `portInUse` sees those.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  // Each jest worker draws from its own slice, and a process never hands out a port twice: two test
  // files starting servers at the same moment cannot pick the same port before either binds it.
  const slice = Math.floor((low - HEADROOM - LOWEST_PORT) / SLICES);
  const from = LOWEST_PORT + (Number(process.env.JEST_WORKER_ID ?? 0) % SLICES) * slice;
  for (let i = 0; slice > HEADROOM && i < 100; i++) {
    const port = from + Math.floor(Math.random() * (slice - HEADROOM));
    if (handedOut.has(port) || (await portInUse(port))) continue;
    handedOut.add(port);
    return port;
  }
  return assignedPort();
}

/** A port the OS assigns (from the ephemeral range): the fallback when none is found below it. */
function assignedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(false)));
  });
}

export async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`,
  );
}

/**
 * Stops a process and, when it leads a process group (spawned `detached`), everything left in that
 * group: SIGTERM (or `signal`), then SIGKILL after `graceMs`. A group outlives its leader (a server's
 * workers, a wrapper script's child), so an exited leader is not the end of it.
 */
export async function stopProcess(
  child: ChildProcess,
  graceMs = 10_000,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  const pid = child.pid;
  const leaderExited = () => child.exitCode !== null || child.signalCode !== null;
  if (leaderExited() && !(pid && groupAlive(pid))) return;
  const exited = leaderExited() ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
  const kill = (sig: NodeJS.Signals) => {
    try {
      if (pid) process.kill(-pid, sig);
    } catch {
      if (!leaderExited()) child.kill(sig);
    }
  };
  kill(signal);
  const timer = setTimeout(() => kill('SIGKILL'), graceMs);
  await exited;
  // Its group: until every member is gone (the SIGKILL above reaches them too). Bounded: a zombie no one
  // reaps still counts as a member.
  const deadline = Date.now() + graceMs + 2_000;
  while (pid && groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  clearTimeout(timer);
}

/** Whether any process of the group `pgid` is alive (false when there is no such group). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Follows a server's output: each line to `onOutput`, the tail kept for the error when it exits early.
 * `status()` says whether it has exited and what it said last.
 */
export function watchOutput(
  child: ChildProcess,
  onOutput?: (line: string) => void,
): () => { exited: boolean; tail: string } {
  let exited = false;
  let tail = '';
  const onData = (d: Buffer) => {
    const text = d.toString();
    tail = (tail + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) onOutput?.(line);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  child.on('exit', () => (exited = true));
  return () => ({ exited, tail });
}
