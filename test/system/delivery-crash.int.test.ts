import { waitFor } from '@chat/testkit';
import { useStack, type Proc } from './stack';
import { collect, friendsPair, sendMany } from './fixtures';

/**
 * Guarantee 1: kill -9 of a delivery worker in the middle of 1,000 messages loses and duplicates nothing.
 * The recipient is on another gateway than the sender: a gateway emits the messages it accepted to its
 * own sockets itself, so only a recipient elsewhere depends on the delivery worker.
 */
describe('a delivery worker killed mid-stream', () => {
  const { stack, track } = useStack({ deliveries: 1, gateways: 2 });

  it('every acknowledged message is delivered and in history exactly once after a restart', async () => {
    const { api, a, b, conversationId } = await friendsPair(stack.origin());
    const sa = await api.connect(a.token);
    const other = new (api.constructor as typeof import('@chat/client').Api)(stack.origin(1));
    const sb = await other.connect(b.token);
    track(sa, sb);
    const received = collect(sb);
    const worker = stack.all('delivery')[0] as Proc;
    const kills: Promise<void>[] = [];
    const results = await sendMany(sa, conversationId, 1_000, 50, (n) => {
      if (n === 300 && !kills.length) kills.push(stack.kill(worker));
    });
    await Promise.all(kills);
    const acked = results.filter((r) => r.ok);
    expect(acked).toHaveLength(1_000);
    expect(worker.process.child.signalCode).toBe('SIGKILL');

    await stack.spawn('delivery');
    await waitFor(() => received.size === 1_000, 30_000, 'all 1,000 messages delivered live after the restart');
    const ackedIds = new Set(acked.map((r) => (r.ok ? r.message.id : '')));
    expect([...received.keys()].every((id) => ackedIds.has(id))).toBe(true);

    const history = await waitFor(
      async () => {
        const h = await api.history(conversationId, b.token);
        return h.length >= 1_000 ? h : null;
      },
      30_000,
      'history to hold every message',
    );
    expect(history).toHaveLength(1_000);
    expect(new Set(history.map((m) => m.id)).size).toBe(1_000);
    expect(new Set(history.map((m) => m.clientMsgId)).size).toBe(1_000);
  }, 120_000);
});
