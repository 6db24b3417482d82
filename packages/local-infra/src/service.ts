import { join } from 'node:path';

/** The repository's root (this file is packages/local-infra/src/service.ts). */
export const repoRoot = join(__dirname, '..', '..', '..');

/**
 * The one way a service process is started from source, by `npm start` (scripts/lib/services.ts), the
 * tests (`startServiceProcess` in @chat/testkit) and a service's own `npm start` (the images run the
 * same main.ts bundled, see scripts/build-services.mjs): one node process with tsx as a loader, not a
 * wrapper, so a signal, SIGKILL included, hits the service itself.
 */
export function serviceCommand(name: string, root: string = repoRoot): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', 'tsx', join(root, 'services', name, 'src', 'main.ts')] };
}
