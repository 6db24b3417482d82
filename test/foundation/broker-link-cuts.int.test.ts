/**
 * A delivery worker (a real process, exiting on any uncaught exception) whose broker connections are
 * dropped at every moment of their connect and set-up, by a TCP link to the real RabbitMQ cut N ms after
 * each connection opens: it must keep running, say 503, and be ready once the link holds. Before the
 * Broker listened for 'error' from the start of its set-up, a connection lost mid-set-up killed the
 * process ('write ECONNRESET' / 'Unexpected close', uncaught).
 */
import { createTestVhost, startServiceProcess, startTcpLink, waitFor, withOutput } from '@chat/testkit';
import type { ServiceProcess, TcpLink, TestVhost } from '@chat/testkit';
import { freePort } from '@chat/local-infra';

jest.setTimeout(120_000);

let vhost: TestVhost;
let link: TcpLink;
const started: ServiceProcess[] = [];

beforeAll(async () => {
  vhost = await createTestVhost();
  const u = new URL(vhost.url);
  link = await startTcpLink({ host: u.hostname, port: Number(u.port) });
});

afterAll(async () => {
  try {
    for (const p of started) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    }
  } finally {
    await link?.close();
    await vhost?.drop();
  }
});

describe.each([
  ['closed (FIN)', false],
  ['reset (RST)', true],
])('a delivery worker whose broker link is %s during each of its first connections', (_name, reset) => {
  it('keeps running, reports 503 meanwhile, and is ready once the link holds', async () => {
    // From the TCP connect to past the set-up (topology, confirm channel, five consumers: ~50 ms here).
    const delays = [2, 5, 10, 15, 20, 25, 30, 40, 50, 70];
    link.cutEach(delays, { reset });
    const before = link.opened();
    const port = await freePort();
    const u = new URL(vhost.url);
    u.port = String(link.port);
    const proc = startServiceProcess('delivery', {
      AMQP_URL: u.toString(),
      PORT: String(port),
      // Nothing answers here; no event needs a members lookup.
      ACCOUNTS_URL: `http://127.0.0.1:${await freePort()}`,
    });
    started.push(proc);
    await withOutput(proc, async () => {
      const readyz = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
      await waitFor(async () => (await readyz()) === 503, 30_000, 'listening, not ready');
      // A worker that dies fails the test at once, not after the wait's timeout.
      const died = proc.exited.then((code) => {
        throw new Error(`the worker exited (${code})`);
      });
      await Promise.race([
        died,
        waitFor(
          // Every planned cut happened: the connection after them holds.
          async () => link.opened() - before > delays.length && (await readyz()) === 200,
          90_000,
          '/readyz 200 once the link holds',
        ),
      ]);
      expect(proc.child.exitCode).toBeNull();
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    });
  });
});
