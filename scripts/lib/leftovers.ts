import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { warn } from './output';

/**
 * If a previous run was killed without a chance to clean up (kill -9, a closed terminal), its servers
 * may still hold the ports. Their pids are on disk: stop them, so running again just works.
 */
export async function stopLeftovers(dataDir: string, what = 'what a previous run left behind'): Promise<void> {
  const pids: Array<[string, number, NodeJS.Signals]> = [];
  const pgPid = readPid(join(dataDir, 'postgres', 'postmaster.pid'));
  if (pgPid && runs(pgPid, 'postgres')) pids.push(['postgres', pgPid, 'SIGINT']);
  // `rabbitmq` for npm start, `rabbitmq-1`... for the cluster's nodes.
  const rabbitDirs = existsSync(dataDir) ? readdirSync(dataDir).filter((d) => /^rabbitmq(-\d+)?$/.test(d)) : [];
  for (const d of rabbitDirs) {
    const rabbitPid = readPid(join(dataDir, d, 'rabbit.pid'));
    if (rabbitPid && runs(rabbitPid, 'rabbit')) pids.push([d, rabbitPid, 'SIGTERM']);
  }
  const runDir = join(dataDir, 'run');
  if (existsSync(runDir)) {
    for (const f of readdirSync(runDir)) {
      const pid = readPid(join(runDir, f));
      if (pid && (runs(pid, 'main.ts') || runs(pid, 'haproxy'))) pids.push([f.replace(/\.pid$/, ''), pid, 'SIGTERM']);
    }
  }
  const alive = pids.filter(([, pid]) => isAlive(pid));
  if (alive.length === 0) return;
  warn(`stopping ${what}: ${alive.map(([n, p]) => `${n} (pid ${p})`).join(', ')}`);
  for (const [, pid, sig] of alive) signal(pid, sig);
  const deadline = Date.now() + 20_000;
  while (alive.some(([, pid]) => isAlive(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const [, pid] of alive) if (isAlive(pid)) signal(pid, 'SIGKILL');
}

/** Records a service's pid (its process group leader) so a later run can clean up after a hard kill. */
export function recordPid(dataDir: string, name: string, pid: number | undefined): void {
  if (!pid) return;
  const runDir = join(dataDir, 'run');
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, `${name}.pid`), `${pid}\n`);
}

export function forgetPid(dataDir: string, name: string): void {
  rmSync(join(dataDir, 'run', `${name}.pid`), { force: true });
}

function readPid(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]?.trim());
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}

/** A pid file may outlive a reboot and name an unrelated process now: check what it runs. */
function runs(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signals the process group first (a service is tsx plus its node child), then the process alone. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}
