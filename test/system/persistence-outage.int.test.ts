import { waitFor } from '@chat/testkit';
import { useStack } from './stack';
import { friendsPair, sendMany } from './fixtures';

/** Guarantee 2: persistence stopped while 500 messages are sent and acked, then started: all 500 once. */
describe('persistence down while messages are acknowledged', () => {
  const { stack, track } = useStack();

  it('stores every acknowledged message exactly once when it comes back', async () => {
    const { api, a, b, conversationId } = await friendsPair(stack.origin());
    const sa = await api.connect(a.token);
    track(sa);
    const persistence = stack.all('persistence')[0]!;
    expect(await stack.terminate(persistence)).toBe(0);

    const results = await sendMany(sa, conversationId, 500, 50);
    expect(results.filter((r) => r.ok)).toHaveLength(500);
    // Nothing can be read while it is down: the public origin says so with a retryable error.
    const down = await fetch(`${stack.origin()}/api/v1/conversations/${conversationId}/messages`, {
      headers: { authorization: `Bearer ${b.token}` },
    });
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ error: { code: 'UNAVAILABLE', retryable: true } });

    await stack.spawn('persistence', persistence.port);
    const history = await waitFor(
      async () => {
        const h = await api.history(conversationId, b.token);
        return h.length >= 500 ? h : null;
      },
      30_000,
      'the backlog to be stored',
    );
    expect(history).toHaveLength(500);
    expect(new Set(history.map((m) => m.clientMsgId)).size).toBe(500);
    const sentIds = results.map((r) => (r.ok ? r.message.id : ''));
    expect(history.map((m) => m.id).sort()).toEqual([...sentIds].sort());
  }, 120_000);
});
