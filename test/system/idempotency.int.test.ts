import { randomUUID } from 'node:crypto';
import { waitFor } from '@chat/testkit';
import { useStack } from './stack';
import { friendsPair, send } from './fixtures';

/** Guarantee 5: the same clientMsgId sent twice, also after a reconnect to another gateway: one message. */
describe('resending the same clientMsgId', () => {
  const { stack, track } = useStack({ gateways: 2 });

  it('acks the first message again on the same gateway and stores one message', async () => {
    const { api, a, b, conversationId } = await friendsPair(stack.origin(0));
    const sa = await api.connect(a.token);
    track(sa);
    const clientMsgId = randomUUID();
    const first = await send(sa, conversationId, 'once', clientMsgId);
    const again = await send(sa, conversationId, 'once', clientMsgId);
    expect(first.ok && again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(again.message.id).toBe(first.message.id);

    // The client lost its socket and retries through another gateway.
    sa.close();
    const other = new (api.constructor as typeof import('@chat/client').Api)(stack.origin(1));
    const sa2 = await other.connect(a.token);
    track(sa2);
    const retried = await send(sa2, conversationId, 'once', clientMsgId);
    expect(retried.ok).toBe(true);

    const history = await waitFor(
      async () => {
        const h = await api.history(conversationId, b.token);
        return h.length >= 1 ? h : null;
      },
      10_000,
      'the message in history',
    );
    // Let anything else in flight land: a marker message sent after the retry must be the second and last.
    const marker = await send(sa2, conversationId, 'marker');
    expect(marker.ok).toBe(true);
    const final = await waitFor(
      async () => {
        const h = await api.history(conversationId, b.token);
        return h.some((m) => marker.ok && m.id === marker.message.id) ? h : null;
      },
      10_000,
      'the marker in history',
    );
    expect(history.length).toBeGreaterThanOrEqual(1);
    expect(final.filter((m) => m.clientMsgId === clientMsgId)).toHaveLength(1);
    expect(final.find((m) => m.clientMsgId === clientMsgId)!.id).toBe(first.message.id);
    expect(final).toHaveLength(2);
  }, 60_000);
});
