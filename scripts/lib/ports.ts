import { portInUse } from '@chat/local-infra';
import { StopError } from './system';

export interface PortSpec {
  what: string;
  port: number;
  /** The environment variable that overrides it. */
  variable: string;
}

/** A port from its override variable, or the default. */
export function portFrom(variable: string, def: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new StopError(`${variable}=${raw} is not a port number`);
  return n;
}

/** Stops with one clear message when any port is held by something else. */
export async function assertPortsFree(specs: PortSpec[]): Promise<void> {
  const taken: PortSpec[] = [];
  for (const s of specs) if (await portInUse(s.port)) taken.push(s);
  if (taken.length === 0) return;
  const lines = taken.map(
    (s) =>
      `  port ${s.port} (${s.what}) is already in use: stop what holds it (ss -ltnp 'sport = :${s.port}') or set ${s.variable}=<another port>`,
  );
  throw new StopError(`cannot start:\n${lines.join('\n')}`);
}

/** The first `n` free ports after `after`, skipping those in `taken` (which it extends). */
export async function nextFreePorts(after: number, n: number, taken: Set<number>): Promise<number[]> {
  const out: number[] = [];
  for (let p = after + 1; out.length < n && p <= 65535; p++) {
    if (taken.has(p) || (await portInUse(p))) continue;
    taken.add(p);
    out.push(p);
  }
  if (out.length < n) throw new StopError(`no ${n} free ports after ${after}`);
  return out;
}
