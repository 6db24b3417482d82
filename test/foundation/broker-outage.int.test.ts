/**
 * A service that loses its broker keeps running, says so on /readyz, and recovers by itself when the
 * broker is back. The delivery worker runs as a real process against a PRIVATE RabbitMQ that this
 * file stops and starts (the shared one must stay up for the other files).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRabbit, type LocalRabbit } from '@chat/local-infra';
import { waitFor } from '@chat/testkit';
import { startServiceProcess, withOutput, type ServiceProcess } from '@chat/testkit';

jest.setTimeout(180_000);

let dir: string;
let rabbit: LocalRabbit;
let service: ServiceProcess;
let port: number;

async function ports(n: number): Promise<number[]> {
  const set = new Set<number>();
  while (set.size < n) set.add(await freePort());
  return [...set];
}

async function readyz(): Promise<{ status: number; body: { status: string; checks: Record<string, boolean> } }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, boolean> } };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chat-outage-'));
  const [amqp, mgmt, dist, http] = (await ports(4)) as [number, number, number, number];
  port = http;
  rabbit = await startRabbit({
    baseDir: join(dir, 'rabbit'),
    port: amqp,
    managementPort: mgmt,
    distPort: dist,
    nodeName: `chat-outage-${amqp}@localhost`,
  });
  service = startServiceProcess('delivery', {
    AMQP_URL: rabbit.url(),
    PORT: String(port),
    // Nothing answers here; this test never needs a members lookup.
    ACCOUNTS_URL: `http://127.0.0.1:${await freePort()}`,
  });
});

afterAll(async () => {
  try {
    if (service?.child.exitCode === null && service.child.signalCode === null) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
  } finally {
    await rabbit?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

/** The Erlang VM's command line: the child of the `rabbitmq-server` script (the supervised process). */
function beamCommandLine(scriptPid: number): string {
  const children = readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8').trim().split(/\s+/);
  for (const pid of children) {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (cmd[0]?.endsWith('beam.smp')) return cmd.join(' ');
  }
  throw new Error(`no beam.smp under ${scriptPid}`);
}

describe('a local RabbitMQ (packages/local-infra)', () => {
  it('runs schedulers that do not busy-wait, so an idle broker leaves its shared machine alone', () => {
    const cmd = beamCommandLine(rabbit.pid()!);
    for (const flag of ['-sbwt none', '-sbwtdcpu none', '-sbwtdio none']) expect(cmd).toContain(flag);
  });
});

describe('delivery worker and a broker outage', () => {
  it('is ready with its broker, reports 503 while the broker is down, and recovers by itself', () =>
    // A failure shows the worker's state and last log lines (a crash on the outage is otherwise only
    // "fetch failed"); CHAT_TEST_CHILD_LOGS=<dir> keeps its whole log.
    withOutput(service, async () => {
      await waitFor(async () => (await readyz()).status === 200, 30_000, 'first /readyz 200');

      await rabbit.stop();
      const down = await waitFor(
        async () => {
          const r = await readyz();
          return r.status === 503 ? r : null;
        },
        30_000,
        '/readyz 503 after the broker stopped',
      );
      expect(down.body.checks.broker).toBe(false);
      expect(down.body.status).toMatch(/broker/);
      // Still alive and still answering: an outage is not a crash.
      expect(service.child.exitCode).toBeNull();
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

      await rabbit.restart();
      const up = await waitFor(
        async () => {
          const r = await readyz();
          return r.status === 200 ? r : null;
        },
        60_000,
        '/readyz 200 after the broker came back',
      );
      expect(up.body.checks.broker).toBe(true);
      expect(service.child.exitCode).toBeNull();
    }));

  it('exits 0 on SIGTERM', () =>
    withOutput(service, async () => {
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    }));
});
