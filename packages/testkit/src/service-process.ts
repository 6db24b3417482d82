import { spawn, type ChildProcess } from 'node:child_process';
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
  // The tail is what anyone reads; a long-running service must not grow these without bound.
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
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
  await waitFor(
    async () => {
      if (exit !== undefined)
        throw new Error(`${name} exited (${exit}): ${proc.stderr().slice(-2000)}${proc.stdout().slice(-2000)}`);
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      return res.status === 200;
    },
    timeoutMs,
    `${name} on ${port} ready`,
    100,
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
