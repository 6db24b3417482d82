import { randomUUID } from 'node:crypto';
import { io as connectClient } from 'socket.io-client';
import { createTestIssuer } from '@chat/auth';
import { waitFor } from '@chat/testkit';
import { changeRoomMembers, collect, createHarness, send, textSend, type Client, type Harness } from './harness';
import type { RunningGateway } from '../src/server';

describe('gateway + delivery: send and deliver over a real broker and real sockets', () => {
  let h: Harness;
  let gw: RunningGateway;
  const [alice, bob, carol] = [randomUUID(), randomUUID(), randomUUID()];
  let conv: string;

  beforeAll(async () => {
    h = await createHarness();
    gw = await h.startGateway({ SEND_RATE_PER_SEC: 5, SEND_RATE_BURST: 30 });
    await h.startWorker();
    conv = h.accounts.conversation([alice, bob]).id;
  });
  afterAll(async () => h.close());

  describe('handshake', () => {
    const refusal = (auth: object) =>
      new Promise<{ message: string; data?: unknown }>((resolve, reject) => {
        const s = connectClient(gw.url, { auth, transports: ['websocket'], forceNew: true, reconnection: false });
        s.once('connect', () => reject(new Error('connected')));
        s.once('connect_error', (err) => {
          s.close();
          resolve(err);
        });
      });

    it.each([
      ['no token', {}],
      ['a token that is not a string', { token: 42 }],
      ['a garbage token', { token: 'not.a.jwt' }],
    ])('refuses %s with UNAUTHENTICATED in connect_error data', async (_what, auth) => {
      const err = await refusal(auth);
      expect(err.data).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String), retryable: false } });
    });

    it('disconnects a socket when its access token expires, so the client must present a fresh one', async () => {
      const s = connectClient(gw.url, {
        // 5 s: long enough to connect on a loaded machine (with 2 s, exp's second granularity left as
        // little as 1 s, and a slow handshake met an expired token).
        auth: { token: await h.issuer.sign(alice, 'alice', 5) },
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
      });
      const reason = new Promise<string>((resolve) => s.once('disconnect', resolve));
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
      const connectedAt = Date.now();
      expect(await reason).toBe('io server disconnect');
      // The token lived 5 s (exp has second granularity): disconnected at its expiry, not at some later sweep.
      expect(Date.now() - connectedAt).toBeLessThan(15_000);
      s.close();
    });

    it('refuses an expired token and one signed by another key', async () => {
      expect((await refusal({ token: await h.issuer.sign(alice, 'alice', -10) })).data).toMatchObject({
        error: { code: 'UNAUTHENTICATED' },
      });
      const other = await createTestIssuer();
      expect((await refusal({ token: await other.sign(alice) })).data).toMatchObject({
        error: { code: 'UNAUTHENTICATED' },
      });
    });
  });

  describe('with connected members', () => {
    let a1: Client;
    let a2: Client;
    let b1: Client;
    beforeAll(async () => {
      [a1, a2, b1] = await Promise.all([h.connect(gw, alice), h.connect(gw, alice), h.connect(gw, bob)]);
    });

    it("acks a send with the server message, then delivers it to the other member and the sender's other socket", async () => {
      const [onA1, onA2, onB1] = [collect(a1), collect(a2), collect(b1)];
      const p = textSend(conv, 'hi bob');
      const ack = await send(a1, p);
      expect(ack).toEqual({
        ok: true,
        message: {
          id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/),
          conversationId: conv,
          senderId: alice,
          clientMsgId: p.clientMsgId,
          createdAt: expect.any(String),
          kind: 'text',
          body: 'hi bob',
        },
      });
      if (!ack.ok) throw new Error('not ok');
      await waitFor(() => onB1.length === 1 && onA2.length === 1, 15_000, 'deliveries');
      expect(onB1[0]).toEqual(ack.message);
      expect(onA2[0]).toEqual(ack.message);
      // The sending socket has the ack instead: a later message from its twin arrives, the echo never did.
      const ack2 = await send(a2, textSend(conv, 'from my other tab'));
      await waitFor(() => onA1.length === 1, 15_000, "the twin's message");
      expect(onA1.map((m) => m.id)).toEqual([ack2.ok && ack2.message.id]);
      expect(Date.parse(ack.message.createdAt)).toBeLessThanOrEqual(Date.now());
    });

    it('gives ids that sort in acceptance order', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const ack = await send(a1, textSend(conv, `n${i}`));
        if (ack.ok) ids.push(ack.message.id);
      }
      expect(ids).toHaveLength(10);
      expect([...ids].sort()).toEqual(ids);
    });

    it('refuses a non-member and an unknown conversation alike with NOT_FOUND (existence is not revealed)', async () => {
      const room = h.accounts.conversation([bob, carol, randomUUID()]).id;
      expect(await send(a1, textSend(room))).toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND', retryable: false },
      });
      expect(await send(a1, textSend(randomUUID()))).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    });

    it('refuses a conversation that no longer takes messages (unfriended) with FORBIDDEN', async () => {
      const c = h.accounts.conversation([alice, carol], { sendable: false }).id;
      expect(await send(a1, textSend(c))).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      // Typing there is refused the same way: nobody could answer.
      const typing = await (
        a1.timeout(15_000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<unknown> }
      ).emitWithAck('typing', { conversationId: c, typing: true });
      expect(typing).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    });

    it('answers each kind of bad input with VALIDATION and keeps the socket working', async () => {
      const good = textSend(conv);
      const bad: unknown[] = [
        { conversationId: conv, body: 'x' },
        { clientMsgId: randomUUID(), body: 'x' },
        { ...good, body: 42 },
        { ...good, conversationId: 7 },
        { ...good, body: '' },
        { ...good, body: ' \n ' },
        { ...good, body: 'a'.repeat(4001) },
        { ...good, body: '😀'.repeat(4001) },
        { ...good, conversationId: 'not-a-uuid' },
        { ...good, clientMsgId: 'abc' },
        { ...good, extra: true },
        'just a string',
        12,
        null,
        [good],
        Buffer.from(JSON.stringify(good)),
      ];
      for (const payload of bad) {
        const ack = await send(a1, payload);
        expect(ack).toMatchObject({
          ok: false,
          error: { code: 'VALIDATION', retryable: false, message: expect.any(String) },
        });
      }
      const read = await (a1.timeout(15_000) as any).emitWithAck('read', { conversationId: conv, messageId: 'nope' });
      expect(read).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
      const unknown = await (a1.timeout(15_000) as any).emitWithAck('message:delete', { id: 1 });
      expect(unknown).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION', message: expect.stringContaining('unknown event') },
      });
      // Without an ack: ignored, nothing breaks.
      (a1 as any).emit('message:send', textSend(conv));
      (a1 as any).emit('no-such-event', 'x');
      (a1 as any).emit('message:send');
      expect(a1.connected).toBe(true);
      expect(await send(a1, textSend(conv, 'still works'))).toMatchObject({ ok: true });
    });

    it('counts the 4,000-character limit in characters, emoji included', async () => {
      expect(await send(a1, textSend(conv, 'a'.repeat(4000)))).toMatchObject({ ok: true });
      const ack = await send(a1, textSend(conv, '😀'.repeat(4000)));
      expect(ack).toMatchObject({ ok: true });
      expect(ack.ok && [...ack.message.body!].length).toBe(4000);
    });

    it('sends the same clientMsgId twice as one message: both acks carry the same id', async () => {
      const onB1 = collect(b1);
      const p = textSend(conv, 'once');
      const [first, second] = await Promise.all([send(a1, p), send(a2, p)]);
      const third = await send(a1, p);
      expect(first.ok && second.ok && third.ok).toBe(true);
      if (!first.ok || !second.ok || !third.ok) return;
      expect(second.message).toEqual(first.message);
      expect(third.message).toEqual(first.message);
      const marker = await send(a1, textSend(conv, 'marker'));
      await waitFor(() => onB1.some((m) => marker.ok && m.id === marker.message.id), 15_000, 'the marker');
      expect(onB1.filter((m) => m.clientMsgId === p.clientMsgId)).toHaveLength(1);
    });

    it('refuses a clientMsgId reused for another conversation with CONFLICT', async () => {
      const other = h.accounts.conversation([alice, randomUUID(), randomUUID()]).id;
      const p = textSend(conv, 'first');
      expect(await send(a1, p)).toMatchObject({ ok: true });
      expect(await send(a1, { ...p, conversationId: other })).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    });

    it("rate-limits a user's sends with RATE_LIMITED and retryAfterMs", async () => {
      const dave = randomUUID();
      const daveConv = h.accounts.conversation([dave, randomUUID(), randomUUID()]).id;
      const d1 = await h.connect(gw, dave);
      const acks = await Promise.all(Array.from({ length: 40 }, (_, i) => send(d1, textSend(daveConv, `r${i}`))));
      const limited = acks.filter((a) => !a.ok);
      expect(acks.filter((a) => a.ok).length).toBeGreaterThanOrEqual(30);
      expect(limited.length).toBeGreaterThan(0);
      expect(limited[0]).toMatchObject({
        ok: false,
        error: { code: 'RATE_LIMITED', retryable: true, retryAfterMs: expect.any(Number) },
      });
      // Another user is not affected.
      expect(await send(b1, textSend(conv, 'bob is fine'))).toMatchObject({ ok: true });
    });

    it('answers UNAVAILABLE when accounts cannot confirm membership', async () => {
      const c = h.accounts.conversation([alice, bob, carol]).id;
      h.accounts.down = true;
      try {
        expect(await send(a1, textSend(c))).toMatchObject({
          ok: false,
          error: { code: 'UNAVAILABLE', retryable: true },
        });
      } finally {
        h.accounts.down = false;
      }
      expect(await send(a1, textSend(c))).toMatchObject({ ok: true });
    });

    it('learns a new member from conversation.changed and delivers to them', async () => {
      const room = h.accounts.conversation([alice, bob, randomUUID()]);
      expect(await send(a1, textSend(room.id, 'before'))).toMatchObject({ ok: true });
      const c1 = await h.connect(gw, carol);
      const onC1 = collect(c1);
      expect(await send(c1, textSend(room.id))).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      // Listening before publishing: the gateway's own queue (classic) may hand it the event, and the
      // socket carry it, before the publish's confirm (which waits for the quorum queues) comes back.
      const changed = new Promise((resolve) => c1.once('conversation', resolve));
      await changeRoomMembers(h, gw, room, {
        type: 'member_added',
        memberIds: [...room.members.map((m) => m.userId), carol],
        userId: carol,
      });
      const ev = await changed;
      expect(ev).toMatchObject({ type: 'member_added', userId: carol });
      await waitFor(async () => (await send(c1, textSend(room.id, 'hi all'))).ok, 15_000, 'carol may send');
      const ack = await send(a1, textSend(room.id, 'welcome carol'));
      await waitFor(() => onC1.some((m) => ack.ok && m.id === ack.message.id), 15_000, 'carol gets it');
    });

    /** Conversation lookups this gateway sent to accounts (its metric). */
    const gatewayLookups = async () => {
      const text = await (await fetch(`${gw.opsUrl}/metrics`)).text();
      return Number(/^gateway_accounts_lookups_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? NaN);
    };

    it('asks accounts again before refusing on a cached "no": a change whose event has not come yet does not refuse', async () => {
      const lookups = (id: string) => h.accounts.lookups.filter((l) => l.endsWith(id)).length;
      // Users of their own: the send rate limit of this file's others is not spent here.
      const [erin, fred] = [randomUUID(), randomUUID()];
      const e1 = await h.connect(gw, erin);
      // A room the gateway cached without fred (erin's send looked it up), then fred added in accounts,
      // its event still on the way (here: never published). Fred, told by accounts, sends at once.
      const room = h.accounts.conversation([erin, bob, randomUUID()]);
      expect(await send(e1, textSend(room.id, 'before fred'))).toMatchObject({ ok: true });
      room.members.push({ userId: fred, role: 'member' });
      const f1 = await h.connect(gw, fred);
      // Counted on the gateway's own metric: the delivery worker asks the same fake accounts about the
      // room whenever erin's message reaches it, which a count of the fake's lookups would include.
      const before = await gatewayLookups();
      expect(await send(f1, textSend(room.id, 'fred at once'))).toMatchObject({ ok: true });
      expect(await gatewayLookups()).toBe(before + 1);
      // A direct conversation cached as taking no messages (unfriended), the pair friends again in accounts.
      const direct = h.accounts.conversation([erin, fred], { sendable: false });
      expect(await send(e1, textSend(direct.id))).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      direct.sendable = true;
      expect(await send(e1, textSend(direct.id, 'friends again'))).toMatchObject({ ok: true });
      // A conversation accounts did not know when first asked, and knows now.
      const id = randomUUID();
      expect(await send(e1, textSend(id))).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      h.accounts.conversation([erin, bob], { id });
      expect(await send(e1, textSend(id, 'it exists now'))).toMatchObject({ ok: true });
      // A "no" that still holds is asked once per refused send, and still refused.
      const stranger = h.accounts.conversation([bob, randomUUID(), randomUUID()]).id;
      for (let i = 0; i < 3; i++)
        expect(await send(e1, textSend(stranger))).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      expect(lookups(stranger)).toBe(4);
      // A send that is allowed asks nothing more.
      const allowed = await gatewayLookups();
      expect(await send(e1, textSend(room.id, 'again'))).toMatchObject({ ok: true });
      expect(await gatewayLookups()).toBe(allowed);
      f1.close();
      e1.close();
    });

    it('asks accounts again before refusing a read or a typing on a cached "no", at a bounded cost', async () => {
      const lookups = (id: string) => h.accounts.lookups.filter((l) => l.endsWith(id)).length;
      const emit = (s: Client, event: 'read' | 'typing', payload: object) =>
        (s.timeout(15_000) as unknown as { emitWithAck: (e: string, p: unknown) => Promise<unknown> }).emitWithAck(
          event,
          payload,
        );
      const [erin, fred, gina] = [randomUUID(), randomUUID(), randomUUID()];
      const e1 = await h.connect(gw, erin);
      // Two rooms the gateway cached without fred (erin's sends looked them up), then fred added in
      // accounts, the events still on the way (here: never published). Fred, told by accounts, at once
      // marks a message read in one and starts typing in the other.
      const [forRead, forTyping] = [h.accounts.conversation([erin, bob]), h.accounts.conversation([erin, bob])];
      const sent = await send(e1, textSend(forRead.id, 'read me, fred'));
      if (!sent.ok) throw new Error('send failed');
      expect(await send(e1, textSend(forTyping.id, 'type, fred'))).toMatchObject({ ok: true });
      forRead.members.push({ userId: fred, role: 'member' });
      forTyping.members.push({ userId: fred, role: 'member' });
      const f1 = await h.connect(gw, fred);
      const onErin = collect<{ userId: string; typing: boolean }>(e1, 'typing');
      // Counted on the gateway's own metric: the delivery worker asks the same fake accounts about
      // these rooms whenever erin's messages reach it, which a count of the fake's lookups would include.
      const before = await gatewayLookups();
      expect(await emit(f1, 'read', { conversationId: forRead.id, messageId: sent.message.id })).toEqual({ ok: true });
      expect(await gatewayLookups()).toBe(before + 1);
      expect(await emit(f1, 'typing', { conversationId: forTyping.id, typing: true })).toEqual({ ok: true });
      expect(await gatewayLookups()).toBe(before + 2);
      await waitFor(() => onErin.some((t) => t.userId === fred && t.typing), 15_000, "fred's typing indicator");

      // A "no" that still holds: each refused read or counted typing costs one lookup (the first also
      // the miss), and is still refused.
      const g1 = await h.connect(gw, gina);
      const stranger = h.accounts.conversation([bob, randomUUID()]).id;
      for (let i = 0; i < 3; i++)
        expect(await emit(g1, 'read', { conversationId: stranger, messageId: sent.message.id })).toMatchObject({
          ok: false,
          error: { code: 'NOT_FOUND' },
        });
      expect(lookups(stranger)).toBe(4);
      // A `typing: false` with no indicator up publishes nothing and passes no limiter: it asks nothing.
      for (let i = 0; i < 20; i++)
        expect(await emit(g1, 'typing', { conversationId: stranger, typing: false })).toMatchObject({
          ok: false,
          error: { code: 'NOT_FOUND' },
        });
      expect(lookups(stranger)).toBe(4);
      // `typing: true` goes through the typing limiter first: once it refuses, nothing more is asked.
      const outcomes: string[] = [];
      for (let i = 0; i < 30; i++) {
        const res = (await emit(g1, 'typing', { conversationId: stranger, typing: true })) as {
          ok: boolean;
          error?: { code: string };
        };
        outcomes.push(res.error?.code ?? 'ok');
      }
      const refused = outcomes.filter((c) => c === 'NOT_FOUND').length;
      expect(outcomes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThan(0);
      expect(outcomes.filter((c) => c !== 'NOT_FOUND' && c !== 'RATE_LIMITED')).toEqual([]);
      expect(lookups(stranger)).toBe(4 + refused);
      // Allowed now: asks nothing more.
      const allowed = await gatewayLookups();
      expect(await emit(f1, 'read', { conversationId: forRead.id, messageId: sent.message.id })).toEqual({ ok: true });
      expect(await emit(f1, 'typing', { conversationId: forTyping.id, typing: false })).toEqual({ ok: true });
      expect(await gatewayLookups()).toBe(allowed);
      g1.close();
      f1.close();
      e1.close();
    });

    it("routes read markers to the other members and the reader's other sockets", async () => {
      const ack = await send(a1, textSend(conv, 'read me'));
      if (!ack.ok) throw new Error('send failed');
      const [onA1, onA2] = [collect(b1, 'read'), collect(a2, 'read')];
      const res = await (b1.timeout(15_000) as any).emitWithAck('read', {
        conversationId: conv,
        messageId: ack.message.id,
      });
      expect(res).toEqual({ ok: true });
      await waitFor(() => onA2.length === 1, 15_000, 'the read marker');
      expect(onA2[0]).toMatchObject({
        conversationId: conv,
        userId: bob,
        messageId: ack.message.id,
        at: expect.any(String),
      });
      expect(onA1).toHaveLength(0);
    });

    it('exposes readiness and delivery metrics', async () => {
      expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
      const text = await (await fetch(`${gw.opsUrl}/metrics`)).text();
      expect(text).toMatch(/gateway_send_to_delivery_seconds_count\{[^}]*\} [1-9]/);
      expect(text).toMatch(/gateway_client_events_total\{[^}]*event="message:send"[^}]*outcome="VALIDATION"/);
    });
  });
});
