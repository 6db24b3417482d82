/**
 * Snapshot each service's OpenAPI document into docs/openapi/<service>.json:
 *   npm run openapi
 * against a running stack (`npm start`). Ports are the `npm start` ones: ACCOUNTS_PORT_DEV,
 * PERSISTENCE_PORT_DEV, DELIVERY_PORT_DEV (defaults 8081-8083). The gateway's document (its operator
 * routes only: the public origin serves none) is on its operator listener, whose port `npm start`
 * picks freely and logs as `operator listener`: pass it as GATEWAY_OPS_PORT, or it is skipped. OPENAPI_HOST
 * (default 127.0.0.1) and OPENAPI_OUT (default docs/openapi) move the source and the destination.
 * Keys are sorted recursively so a regenerated file only differs where the API changed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const services = [
  { name: 'gateway', variable: 'GATEWAY_OPS_PORT', port: 0 },
  { name: 'accounts', variable: 'ACCOUNTS_PORT_DEV', port: 8081 },
  { name: 'persistence', variable: 'PERSISTENCE_PORT_DEV', port: 8082 },
  { name: 'delivery', variable: 'DELIVERY_PORT_DEV', port: 8083 },
] as const;

/** Object keys in code-point order at every depth; arrays keep their order (it can mean something). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

function portOf(variable: string, fallback: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${variable} must be a port number, got ${raw}`);
  return n;
}

async function main(): Promise<void> {
  const host = process.env.OPENAPI_HOST ?? '127.0.0.1';
  const outDir = resolve(process.env.OPENAPI_OUT ?? join(__dirname, '..', 'docs', 'openapi'));
  await mkdir(outDir, { recursive: true });
  const failures: string[] = [];
  for (const s of services) {
    if (s.port === 0 && !process.env[s.variable]) {
      process.stdout.write(`${s.name}: skipped (set ${s.variable} to its operator listener's port)\n`);
      continue;
    }
    const url = `http://${host}:${portOf(s.variable, s.port)}/docs/json`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const doc = (await res.json()) as { paths?: Record<string, unknown> };
      const file = join(outDir, `${s.name}.json`);
      await writeFile(file, `${JSON.stringify(sortKeys(doc), null, 2)}\n`);
      process.stdout.write(`${s.name}: ${Object.keys(doc.paths ?? {}).length} paths -> ${file}\n`);
    } catch (err) {
      // Keep going: one service down should not hide what the others say.
      failures.push(`${s.name} (${url}): ${(err as Error).message}`);
    }
  }
  if (failures.length) {
    process.stderr.write(`openapi: could not fetch\n  ${failures.join('\n  ')}\nIs the stack running (npm start)?\n`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`openapi: ${(err as Error).message}\n`);
  process.exit(1);
});
