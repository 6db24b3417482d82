/**
 * HAProxy supervised as `npm run start:cluster` runs it: killed, it is started again, and its pid file
 * names the new process (a later run's clean-up stops what runs, not a dead pid).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startHaproxy, type LocalHaproxy } from '@chat/local-infra';
import { waitFor } from '@chat/testkit';

jest.setTimeout(60_000);

let dir: string;
let haproxy: LocalHaproxy;
let restarted = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chat-haproxy-'));
  haproxy = await startHaproxy({
    dir,
    port: await freePort(),
    // Nothing listens there: the balancer itself is what this file looks at.
    backends: [{ name: 'gateway-1', port: await freePort() }],
    supervise: { onRestarted: () => restarted++ },
    pidFile: join(dir, 'run', 'haproxy.pid'),
  });
});

afterAll(async () => {
  await haproxy?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const pidOnDisk = () => Number(readFileSync(join(dir, 'run', 'haproxy.pid'), 'utf8').trim());

it('rewrites its pid file when the supervisor restarts it', async () => {
  const first = haproxy.pid()!;
  expect(pidOnDisk()).toBe(first);
  process.kill(-first, 'SIGKILL');
  await waitFor(() => restarted === 1, 30_000, 'the supervisor to restart haproxy');
  const second = haproxy.pid()!;
  expect(second).not.toBe(first);
  expect(pidOnDisk()).toBe(second);
  expect(() => process.kill(second, 0)).not.toThrow();
  // It serves again: HAProxy itself answers (503: no live gateway behind it).
  await waitFor(async () => (await fetch(haproxy.url).catch(() => null))?.status === 503, 10_000, 'haproxy to answer');
});
