import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The processes the benchmark reports on, found by their command line. */
const WATCHED: Array<[string, RegExp]> = [
  ['gateway', /services\/gateway\/src\/main\.ts/],
  ['accounts', /services\/accounts\/src\/main\.ts/],
  ['delivery', /services\/delivery\/src\/main\.ts/],
  ['persistence', /services\/persistence\/src\/main\.ts/],
  ['rabbitmq', /beam\.smp/],
  ['relay', /bench\/relay\/server\.ts/],
  ['postgres', /^postgres:|\/postgres\s|bin\/postgres/],
];

export interface ProcSample {
  name: string;
  pid: number;
  cpuTicks: number;
  rssBytes: number;
}

const PAGE = 4096;
const HZ = 100;

/**
 * On a machine shared with other stacks (other checkouts, test runs), only processes of this checkout
 * count: their command line or working directory is under one of these roots (`BENCH_ROOTS`, colon
 * separated; default the current directory and its `.data`). Unset it with `BENCH_ROOTS=/` to count all.
 */
const roots = (process.env.BENCH_ROOTS ?? `${process.cwd()}:${process.env.DEV_DATA_DIR ?? `${process.cwd()}/.data`}`)
  .split(':')
  .filter(Boolean);

function ours(pid: string, cmd: string): boolean {
  let cwd = '';
  try {
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    // not ours to read
  }
  return roots.some((r) => cmd.includes(r) || cwd === r || cwd.startsWith(`${r}/`));
}

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** CPU ticks (user+system) and RSS of every watched process; node processes launched through tsx count once (the node child). */
export function sample(): ProcSample[] {
  const out: ProcSample[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const cmd = cmdline(pid);
    const hit = WATCHED.find(([, re]) => re.test(cmd));
    if (!hit || !ours(pid, cmd)) continue;
    // tsx starts a node child with the same script; skip the tsx launcher itself (it barely runs).
    if (/node_modules\/\.bin\/tsx|\/tsx\/dist\/cli/.test(cmd) && !/--require|--import|loader/.test(cmd)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const utime = Number(fields[11]);
      const stime = Number(fields[12]);
      const rss = Number(fields[21]) * PAGE;
      out.push({ name: hit[0], pid: Number(pid), cpuTicks: utime + stime, rssBytes: rss });
    } catch {
      // The process ended between listing and reading.
    }
  }
  return out;
}

/** Per watched name: CPU% of one core over the interval and RSS at the end (summed over its processes). */
export function usage(
  before: ProcSample[],
  after: ProcSample[],
  seconds: number,
): Record<string, { cpuPercent: number; rssMiB: number }> {
  const res: Record<string, { cpuPercent: number; rssMiB: number }> = {};
  for (const a of after) {
    const b = before.find((x) => x.pid === a.pid);
    const ticks = a.cpuTicks - (b?.cpuTicks ?? a.cpuTicks);
    const r = (res[a.name] ??= { cpuPercent: 0, rssMiB: 0 });
    r.cpuPercent += (ticks / HZ / seconds) * 100;
    r.rssMiB += a.rssBytes / 1024 / 1024;
  }
  // One decimal: at a few hundred messages a second a process uses a few percent, and whole percents
  // summed over six processes could be off by three points.
  for (const r of Object.values(res)) {
    r.cpuPercent = Math.round(r.cpuPercent * 10) / 10;
    r.rssMiB = Math.round(r.rssMiB);
  }
  return res;
}

export function gatewayRss(): number {
  return sample()
    .filter((s) => s.name === 'gateway')
    .reduce((a, s) => a + s.rssBytes, 0);
}
