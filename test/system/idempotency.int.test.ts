import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { ulid } from 'ulid';
import { ENVELOPE_VERSION, type Message } from '@chat/contracts';
import { QUEUES } from '@chat/messaging';
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

  /**
   * An attempt whose publish died with the broker node it went through can reach persistence's queue and
   * no gateway's events queue; its client, moved to another gateway by the balancer, resends. Here that
   * copy is put on persistence's queue directly, so no gateway ever saw it.
   */
  async function storedElsewhere(conversationId: string, senderId: string, body: string): Promise<Message> {
    const m: Message = {
      id: ulid(Date.now() - 2_000),
      conversationId,
      senderId,
      clientMsgId: randomUUID(),
      createdAt: new Date(Date.now() - 2_000).toISOString(),
      kind: 'text',
      body,
    };
    const envelope = {
      v: ENVELOPE_VERSION,
      type: 'message.created',
      id: m.id,
      occurredAt: m.createdAt,
      traceId: randomUUID(),
      payload: m,
    };
    const conn = await amqp.connect(stack.amqpUrl);
    try {
      const ch = await conn.createConfirmChannel();
      ch.sendToQueue(QUEUES.persistence.name, Buffer.from(JSON.stringify(envelope)), { persistent: true });
      await ch.waitForConfirms();
    } finally {
      await conn.close();
    }
    return m;
  }

  it('acks a resend no gateway remembers under the id history keeps (its first attempt stored, never acked)', async () => {
    const { api, a, b, conversationId } = await friendsPair(stack.origin(0));
    const first = await storedElsewhere(conversationId, a.id, 'ack lost with its node');
    await waitFor(
      async () => (await api.history(conversationId, b.token)).some((m) => m.id === first.id),
      15_000,
      'the first attempt in history',
    );
    const sa = await api.connect(a.token);
    track(sa);
    const resent = await send(sa, conversationId, 'ack lost with its node', first.clientMsgId, 15_000, {
      resend: true,
    });
    expect(resent).toMatchObject({ ok: true, message: { id: first.id, clientMsgId: first.clientMsgId } });
    // This gateway knows it now: another resend gets the same answer, flag or not.
    const again = await send(sa, conversationId, 'ack lost with its node', first.clientMsgId);
    expect(again).toMatchObject({ ok: true, message: { id: first.id } });
    const history = await api.history(conversationId, b.token);
    expect(history.filter((m) => m.clientMsgId === first.clientMsgId).map((m) => m.id)).toEqual([first.id]);
  }, 60_000);

  it('stores a resend nobody has under the id it acks, once, and the other gateway acks the same id', async () => {
    const { api, a, b, conversationId } = await friendsPair(stack.origin(0));
    const sa = await api.connect(a.token);
    track(sa);
    const clientMsgId = randomUUID();
    const r = await send(sa, conversationId, 'first seen as a resend', clientMsgId, 15_000, { resend: true });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const other = new (api.constructor as typeof import('@chat/client').Api)(stack.origin(1));
    const sa2 = await other.connect(a.token);
    track(sa2);
    const r2 = await send(sa2, conversationId, 'first seen as a resend', clientMsgId, 15_000, { resend: true });
    expect(r2).toMatchObject({ ok: true, message: { id: r.message.id } });
    const history = await waitFor(
      async () => {
        const h = await api.history(conversationId, b.token);
        return h.some((m) => m.id === r.message.id) ? h : null;
      },
      15_000,
      'the message in history',
    );
    expect(history.filter((m) => m.clientMsgId === clientMsgId).map((m) => m.id)).toEqual([r.message.id]);
  }, 60_000);

  it('refuses a resend claimed for another conversation with CONFLICT', async () => {
    const p1 = await friendsPair(stack.origin(0));
    const p2 = await friendsPair(stack.origin(0));
    // The same sender in two conversations: p1's sender befriends p2's receiver.
    const first = await storedElsewhere(p1.conversationId, p1.a.id, 'one conversation');
    await waitFor(
      async () => (await p1.api.history(p1.conversationId, p1.b.token)).some((m) => m.id === first.id),
      15_000,
      'the first attempt in history',
    );
    const sa = await p1.api.connect(p1.a.token);
    track(sa);
    const elsewhere = await p1.api.befriend(p1.a, p2.b);
    const r = await send(sa, elsewhere, 'another one', first.clientMsgId, 15_000, { resend: true });
    expect(r).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
  }, 60_000);
});
