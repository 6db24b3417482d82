import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { info, pipeLines, warn } from './output';

const SKIP = new Set(['node_modules', 'build', '.svelte-kit', 'test-results']);

/** Newest modification time under `path` (a file or a folder), ignoring build output. */
function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const entry of readdirSync(path)) {
    if (SKIP.has(entry)) continue;
    max = Math.max(max, newest(join(path, entry)));
  }
  return max;
}

/** The web client's sources, and the shared contracts it is built from. */
export function webIsStale(root: string): boolean {
  const index = join(root, 'web', 'build', 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  const sources = Math.max(newest(join(root, 'web')), newest(join(root, 'packages', 'contracts', 'src')));
  return sources > built;
}

/** Builds web/build when it is missing or older than its sources. A failed build is reported, not fatal. */
export async function buildWebIfStale(root: string): Promise<boolean> {
  if (!existsSync(join(root, 'web', 'package.json'))) return false;
  if (!webIsStale(root)) {
    info('web client is up to date (web/build)');
    return true;
  }
  info('building the web client (npm run build -w @chat/web)');
  const child = spawn('npm', ['run', 'build', '-w', '@chat/web'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  pipeLines('web', child.stdout);
  pipeLines('web', child.stderr);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  if (code === 0) {
    info('web client built');
    return true;
  }
  warn(
    `the web client build failed (exit ${code}); the services start anyway, the gateway serves whatever web/build holds`,
  );
  return false;
}
