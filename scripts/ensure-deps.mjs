// Runs before `npm start` (npm's `prestart`): on a fresh clone nothing is installed yet, not even tsx,
// so this file uses Node built-ins only.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'node_modules', '.bin', 'tsx'))) {
  let args = existsSync(join(root, 'package-lock.json')) ? ['ci'] : ['install'];
  process.stdout.write(`[dev] node_modules is missing: running npm ${args.join(' ')}\n`);
  let r = spawnSync('npm', args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0 && args[0] === 'ci') {
    // npm ci refuses a lock file that lacks other platforms' optional packages (a lock written against
    // a registry mirror without them); npm install copes with it.
    args = ['install'];
    process.stdout.write('[dev] npm ci failed: trying npm install\n');
    r = spawnSync('npm', args, { cwd: root, stdio: 'inherit' });
  }
  if (r.status !== 0) {
    process.stderr.write(`[dev] npm ${args.join(' ')} failed (exit ${r.status}); fix the error above and run npm start again\n`);
    process.exit(r.status ?? 1);
  }
}
