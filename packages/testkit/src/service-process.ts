import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, serviceCommand, stopProcess } from '@chat/local-infra';
import { waitFor } from './wait';

/** The repository's root. */
export const root = repoRoot;

export interface ServiceProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
  /** Whether it still runs (or how it ended), then the last `lines` lines of its stderr and stdout. */
  explain: (lines?: number) => string;
}

/** The last `n` lines of `text`. */
const tail = (text: string, n: number) =>
  text
    .split('\n')
    .slice(-n - 1)
    .join('\n');

/**
 * Runs `fn`; if it throws, rethrows with the process's state and last log lines appended, so a test
 * that fails because its child crashed or hung says so (and why) instead of only "fetch failed".
 */
export async function withOutput<T>(proc: ServiceProcess, fn: () => Promise<T>, lines = 60): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // Not `instanceof Error`: fetch's errors come from another realm than a jest test's.
    if (err !== null && typeof err === 'object' && typeof (err as Error).message === 'string') {
      (err as Error).message = `${(err as Error).message}\n${proc.explain(lines)}`;
      throw err;
    }
    throw new Error(`${String(err)}\n${proc.explain(lines)}`, { cause: err });
  }
}

/**
 * Runs a service's real entry point (`services/<name>/src/main.ts`) as its own process, with the same
 * command as `npm start` and the images (`serviceCommand` in @chat/local-infra).
 */
export function startServiceProcess(name: string, env: Record<string, string>): ServiceProcess {
  const { command, args } = serviceCommand(name);
  const child = spawn(command, args, {
    cwd: root,
    // Only what the test sets, plus PATH: a developer's own variables must not change the outcome.
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  // CHAT_TEST_CHILD_LOGS=<dir> keeps every child's whole output in <dir>/<name>-<pid>.log (a flaky
  // failure is understood from the logs of the run that failed, not from a re-run that passes).
  const dir = process.env.CHAT_TEST_CHILD_LOGS;
  const file = dir && child.pid ? join(dir, `${name}-${child.pid}.log`) : null;
  if (file) mkdirSync(dir!, { recursive: true });
  const keep = (d: Buffer) => {
    if (file) appendFileSync(file, d);
  };
  // The tail is what anyone reads; a long-running service must not grow these without bound.
  child.stdout?.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
    keep(d);
  });
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
    keep(d);
  });
  let ended: string | null = null;
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      ended = code !== null ? `exit code ${code}` : `signal ${signal}`;
      resolve(code ?? signal ?? -1);
    }),
  );
  const explain = (lines = 60) =>
    `--- ${name} (pid ${child.pid}): ${ended ? `exited, ${ended}` : 'still running'}${file ? `; full log ${file}` : ''}\n` +
    `--- last stderr:\n${tail(err, lines)}\n--- last stdout:\n${tail(out, lines)}`;
  return { child, stdout: () => out, stderr: () => err, exited, explain };
}

/** Waits for the process's `/readyz` on `port` to answer 200; fails at once, with its output, if it exits. */
export async function waitUntilReady(
  name: string,
  proc: ServiceProcess,
  port: number,
  timeoutMs = 30_000,
): Promise<void> {
  let exit: number | string | undefined;
  void proc.exited.then((c) => (exit = c));
  await withOutput(proc, () =>
    waitFor(
      async () => {
        if (exit !== undefined) throw new Error(`${name} exited (${exit})`);
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        return res.status === 200;
      },
      timeoutMs,
      `${name} on ${port} ready`,
      100,
    ),
  );
}

export interface RunningService extends ServiceProcess {
  name: string;
  port: number;
  url: string;
  /** `/readyz` answers 200 right now. */
  isReady: () => Promise<boolean>;
  /** SIGTERM (the graceful path), SIGKILL after `timeoutMs`. */
  stop: (timeoutMs?: number) => Promise<void>;
}

/** Starts a service process on `env.PORT` and resolves once it is ready. */
export async function startService(
  name: string,
  env: Record<string, string> & { PORT: string },
  timeoutMs = 30_000,
): Promise<RunningService> {
  const proc = startServiceProcess(name, env);
  const port = Number(env.PORT);
  const url = `http://127.0.0.1:${port}`;
  const running: RunningService = {
    ...proc,
    name,
    port,
    url,
    isReady: async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200,
    stop: (ms = 10_000) => stopProcess(proc.child, ms, 'SIGTERM'),
  };
  try {
    await waitUntilReady(name, proc, port, timeoutMs);
  } catch (err) {
    await running.stop(1_000);
    throw err;
  }
  return running;
}
