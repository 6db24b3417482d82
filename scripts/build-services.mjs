// Compiles each service to JavaScript: services/<name>/dist/main.js, one CommonJS bundle of the
// service and the workspace packages it imports (@chat/*, which export TypeScript source), with every
// third-party package left external (loaded from node_modules at run time: native modules such as
// @node-rs/argon2, packages that read their own files such as @fastify/swagger-ui). esbuild only
// transpiles; `npm run typecheck` is the type check.
//
//   node scripts/build-services.mjs [service...]            dist/ for the named services (default all)
//   node scripts/build-services.mjs --runtime OUT [service...]
//        also lays out OUT/<service>/, everything the service needs at run time and nothing else:
//        package.json, services/<name>/{package.json,dist,drizzle}, and node_modules holding only the
//        third-party packages the bundle imports and their own dependencies (no dev dependencies, no
//        tsx, no tests, no TypeScript sources). The container image copies that folder as it is.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

const args = process.argv.slice(2);
let runtimeOut = null;
const ri = args.indexOf('--runtime');
if (ri >= 0) {
  runtimeOut = args[ri + 1];
  if (!runtimeOut) throw new Error('--runtime needs a folder');
  args.splice(ri, 2);
}
const all = readdirSync(join(root, 'services')).filter((s) => existsSync(join(root, 'services', s, 'src', 'main.ts')));
const services = args.length ? args : all;
for (const s of services) if (!all.includes(s)) throw new Error(`unknown service ${s} (known: ${all.join(', ')})`);

const builtins = new Set(builtinModules);
/** The npm package name of a bare import: `a/b/c` → `a`, `@s/a/b` → `@s/a`. */
const packageName = (spec) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');

/** Bundles one service; returns the third-party package names it imports. */
async function bundle(service) {
  const dir = join(root, 'services', service);
  /** Third-party package name → the installed folder the importing source resolves it to. */
  const external = new Map();
  const result = await build({
    entryPoints: [join(dir, 'src', 'main.ts')],
    outfile: join(dir, 'dist', 'main.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    sourcemap: true,
    logLevel: 'warning',
    plugins: [
      {
        name: 'third-party-external',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (a) => {
            if (a.path.startsWith('node:') || builtins.has(a.path)) return { path: a.path, external: true };
            if (a.path.startsWith('@chat/')) return undefined; // workspace source: bundled
            const name = packageName(a.path);
            const dir = resolvePackage(name, a.resolveDir);
            if (!dir) return undefined; // let esbuild report it
            const had = external.get(name);
            if (had && had !== dir) {
              // Two installs of one package (npm could not hoist them): the same version is the same
              // code; another version is bundled into this importer, since the bundle loads one install.
              if (readJson(join(had, 'package.json')).version === readJson(join(dir, 'package.json')).version)
                return { path: a.path, external: true };
              return undefined;
            }
            external.set(name, dir);
            return { path: a.path, external: true };
          });
        },
      },
    ],
  });
  if (result.errors.length) throw new Error(`${service}: build failed`);
  // pino loads pino-pretty by name (a transport) when stdout is a terminal, e.g. `docker run -t`.
  if (external.has('pino') && !external.has('pino-pretty')) {
    const dir = resolvePackage('pino-pretty', external.get('pino'));
    if (dir) external.set('pino-pretty', dir);
  }
  return external;
}

/** Finds `name` as Node would from the package folder `fromDir` (nested node_modules first). */
function resolvePackage(name, fromDir) {
  let d = fromDir;
  for (;;) {
    const candidate = join(d, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (d === root || d === dirname(d)) return null;
    d = dirname(d);
  }
}

/**
 * Where each package goes in the runtime tree: the bundle's imports at the top (node_modules/<name>,
 * the install its importer resolved), their dependencies at the top too unless another install of the
 * same name is there already, then nested under the package that needs them, as npm lays them out.
 * Returns destination (relative) → source folder.
 */
function placement(externals) {
  const placed = new Map();
  const queue = [...externals].map(([name, src]) => ({ name, src, parentDest: '' }));
  while (queue.length) {
    const { name, src, parentDest } = queue.shift();
    let dest = join('node_modules', name);
    if (placed.has(dest) && placed.get(dest) !== src) {
      if (!parentDest) throw new Error(`two installs of ${name} are needed at the top`);
      dest = join(parentDest, 'node_modules', name);
      if (placed.has(dest) && placed.get(dest) !== src) throw new Error(`cannot place ${relative(root, src)}`);
    }
    if (placed.has(dest)) continue;
    placed.set(dest, src);
    const pkg = readJson(join(src, 'package.json'));
    const deps = [
      ...Object.keys(pkg.dependencies ?? {}).map((n) => [n, false]),
      ...Object.keys(pkg.optionalDependencies ?? {}).map((n) => [n, true]),
      ...Object.keys(pkg.peerDependencies ?? {}).map((n) => [n, true]), // only those installed count
    ];
    for (const [n, optional] of deps) {
      const dir = resolvePackage(n, src);
      if (!dir) {
        if (optional) continue; // another platform's binary, or an optional peer not installed
        throw new Error(`${n} (needed by ${relative(root, src)}) is not installed: run npm ci`);
      }
      queue.push({ name: n, src: dir, parentDest: dest });
    }
  }
  return placed;
}

function layOut(service, externals, out) {
  const dest = join(out, service);
  rmSync(dest, { recursive: true, force: true });
  const svc = join(root, 'services', service);
  const pkg = readJson(join(svc, 'package.json'));
  mkdirSync(join(dest, 'services', service), { recursive: true });
  writeFileSync(join(dest, 'package.json'), `${JSON.stringify({ name: 'chat-platform', private: true }, null, 2)}\n`);
  writeFileSync(
    join(dest, 'services', service, 'package.json'),
    `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true, main: 'dist/main.js' }, null, 2)}\n`,
  );
  cpSync(join(svc, 'dist'), join(dest, 'services', service, 'dist'), { recursive: true });
  if (existsSync(join(svc, 'drizzle')))
    cpSync(join(svc, 'drizzle'), join(dest, 'services', service, 'drizzle'), { recursive: true });
  let count = 0;
  for (const [rel, dir] of placement(externals)) {
    // The package's own files, not its nested node_modules: those it needs are placed too.
    cpSync(dir, join(dest, rel), {
      recursive: true,
      dereference: true,
      filter: (src) => !relative(dir, src).split(sep).includes('node_modules'),
    });
    count += 1;
  }
  return count;
}

for (const service of services) {
  const started = Date.now();
  const externals = await bundle(service);
  let line = `[build] ${service}: services/${service}/dist/main.js (${Date.now() - started} ms), ${externals.size} external packages`;
  if (runtimeOut)
    line += `, runtime tree ${join(runtimeOut, service)} with ${layOut(service, externals, runtimeOut)} packages`;
  process.stdout.write(`${line}\n`);
}
