// Runs before `npm start` (npm's `prestart`): on a fresh clone nothing is installed yet, not even tsx
// or the pinned Node.js, so this file uses Node built-ins only and runs on whatever Node the machine has.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { ensureRuntime, root } from './node-runtime.mjs';

if (!existsSync(join(root, 'node_modules', '.bin', 'tsx')) || !existsSync(join(root, 'node_modules', '.bin', 'node'))) {
  // npm ci installs exactly the lock file; a package.json that drifted from it is an error to fix, not
  // something to paper over with npm install. It runs on the project's Node (fetched when the machine's
  // is another major version) so no dependency's engine range is violated.
  const env = { ...process.env };
  try {
    const bin = ensureRuntime({ log: (m) => process.stdout.write(`[dev] ${m}\n`) });
    if (bin) env.PATH = `${bin}${delimiter}${env.PATH ?? ''}`;
  } catch (err) {
    process.stderr.write(`[dev] cannot fetch the project's Node.js: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write('[dev] node_modules is missing: running npm ci\n');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    process.stderr.write(`[dev] npm ci failed (exit ${r.status}); fix the error above and run npm start again\n`);
    process.exit(r.status ?? 1);
  }
}
