import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRabbit, type LocalRabbit } from '@chat/local-infra';
import { waitFor } from '@chat/testkit';
import type { ChatSocket } from '@chat/client';
import { Stack } from './stack';
import { friendsPair, send, type SendResult } from './fixtures';

/**
 * Guarantee 3: RabbitMQ restarted in the middle of a stream. Every ok:true message ends up in history,
 * sends during the outage are refused with UNAVAILABLE, and every service reconnects by itself.
 */
describe('RabbitMQ restarted mid-stream', () => {
  let rabbit: LocalRabbit;
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'chat-rabbit-'));
  const sockets: ChatSocket[] = [];

  beforeAll(async () => {
    // Three distinct ports: freePort() closes its probe, so two calls may hand out the same one.
    const ports = new Set<number>();
    while (ports.size < 3) ports.add(await freePort());
    const [port, managementPort, distPort] = [...ports] as [number, number, number];
    rabbit = await startRabbit({
      baseDir: dir,
      port,
      managementPort,
      distPort,
      nodeName: `chat-restart-${port}@localhost`,
    });
    // Assigned before it starts: a start that fails or overruns must still be stopped by afterAll (its
    // processes were left running, and jest waited for them for ever).
    stack = new Stack({ amqpUrl: rabbit.url() });
    await stack.start();
  }, 180_000);
  afterAll(async () => {
    sockets.forEach((s) => s.close());
    try {
      await stack?.stop();
    } finally {
      // Even when the stack's stop fails: a private RabbitMQ left running would outlive the test run.
      await rabbit?.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('keeps every acknowledged message and refuses the rest with a retryable error', async () => {
    const { api, a, b, conversationId } = await friendsPair(stack.origin());
    const sa = await api.connect(a.token);
    sockets.push(sa);
    const results: SendResult[] = [];
    let stop = false;
    // One sender streaming messages for the whole test.
    const stream = (async () => {
      for (let i = 0; !stop; i++) results.push(await send(sa, conversationId, `stream ${i}`, undefined, 10_000));
    })();
    await waitFor(() => results.filter((r) => r.ok).length >= 100, 20_000, '100 messages before the restart');
    await rabbit.restart();
    await waitFor(() => results.some((r) => !r.ok), 20_000, 'a refused send during the outage');
    const refusedAt = results.length;
    await waitFor(
      () => results.slice(refusedAt).filter((r) => r.ok).length >= 50,
      60_000,
      '50 messages after the restart',
    );
    stop = true;
    await stream;

    const refused = results.filter((r): r is Extract<SendResult, { ok: false }> => !r.ok);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.error).toMatchObject({ retryable: true });
    expect(refused.filter((r) => r.error.code === 'UNAVAILABLE').length).toBeGreaterThan(0);

    const okIds = new Set(results.flatMap((r) => (r.ok ? [r.message.id] : [])));
    const history = await waitFor(
      async () => {
        const h = await api.history(conversationId, b.token);
        return [...okIds].every((id) => h.some((m) => m.id === id)) ? h : null;
      },
      30_000,
      'every acknowledged message in history',
    );
    expect(new Set(history.map((m) => m.clientMsgId)).size).toBe(history.length);
    // Every service reconnects by itself (each on its own backoff, at most 5 s apart): all ready again.
    for (const p of stack.procs) {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${p.port}/readyz`)).status === 200,
        30_000,
        `${p.name} ready again`,
      );
    }
  }, 180_000);
});
