import { randomUUID } from 'node:crypto';
import type { Envelope, ReadEvent, TypingEvent } from '@chat/contracts';
import { silentLogger } from '@chat/logger';
import { Broker, QUEUES } from '@chat/messaging';
import { waitFor } from '@chat/testkit';
import { collect, createHarness, send, textSend, type Client, type Harness } from './harness';
import type { RunningGateway } from '../src/server';

const ack = (s: Client, event: string, payload: unknown) =>
  (s.timeout(15_000) as any).emitWithAck(event, payload) as Promise<{ ok: boolean; error?: { code: string } }>;

/**
 * Presence reports, typing and read receipts through a real gateway, a real delivery worker and a real
 * broker. Accounts is the fake at its internal boundary; what the gateway reports is read off the
 * `accounts.presence` queue itself.
 */
describe('gateway: presence reports, typing, read receipts', () => {
  let h: Harness;
  let gw: RunningGateway;
  let observer: Broker;
  const reports: Envelope[] = [];
  const [alice, bob, carol] = [randomUUID(), randomUUID(), randomUUID()];
  let conv: string;

  beforeAll(async () => {
    h = await createHarness();
    observer = new Broker({ url: h.amqpUrl, logger: silentLogger() });
    await observer.connect();
    await observer.consume<Envelope>({
      queue: QUEUES.accountsPresence.name,
      batchSize: 100,
      handle: async (items) => void reports.push(...items),
    });
    // Typing: the refresh far longer than the 50-event burst and the expiry longer than any stall inside it
    // (a loaded machine stretches 50 x 10 ms to seconds), so the burst makes exactly one `true`.
    gw = await h.startGateway({ PRESENCE_HEARTBEAT_MS: 300, TYPING_REFRESH_MS: 10_000, TYPING_EXPIRE_MS: 2_000 });
    await h.startWorker();
    conv = h.accounts.conversation([alice, bob]).id;
  });
  afterAll(async () => {
    await h.close();
    await observer.close();
  });

  const reportsOf = (userId: string) =>
    reports
      .filter(
        (e): e is Envelope<'presence.reported'> =>
          e.type === 'presence.reported' && (e.payload as { userId: string }).userId === userId,
      )
      .map((e) => e.payload.online);

  describe('presence reports', () => {
    it('reports a user online on the first tab only and offline when the last one goes', async () => {
      const user = randomUUID();
      const t1 = await h.connect(gw, user);
      await waitFor(() => reportsOf(user).length === 1, 15_000, 'online report');
      const t2 = await h.connect(gw, user);
      t1.disconnect();
      // Heartbeats keep flowing meanwhile and list the user: the second tab holds them online.
      const n = reports.length;
      await waitFor(
        () =>
          reports
            .slice(n)
            .some((e) => e.type === 'gateway.heartbeat' && (e.payload as { userIds: string[] }).userIds.includes(user)),
        15_000,
        'a heartbeat with the user',
      );
      expect(reportsOf(user)).toEqual([true]);
      t2.disconnect();
      await waitFor(() => reportsOf(user).length === 2, 15_000, 'offline report');
      expect(reportsOf(user)).toEqual([true, false]);
      const m = reports.length;
      await waitFor(() => reports.slice(m).some((e) => e.type === 'gateway.heartbeat'), 15_000, 'next heartbeat');
      const hb = reports.slice(m).find((e) => e.type === 'gateway.heartbeat') as Envelope<'gateway.heartbeat'>;
      expect(hb.payload).toMatchObject({ gatewayId: gw.instanceId, intervalMs: 300 });
      expect(hb.payload.userIds).not.toContain(user);
    });
  });

  describe('typing', () => {
    let a1: Client;
    let a2: Client;
    let b1: Client;
    let c1: Client;
    beforeAll(async () => {
      [a1, a2, b1, c1] = await Promise.all([
        h.connect(gw, alice),
        h.connect(gw, alice),
        h.connect(gw, bob),
        h.connect(gw, carol),
      ]);
    });

    it('makes a handful of deliveries out of 50 events a second, never to the typer or a stranger, and expires by itself', async () => {
      const [onB, onA2, onC] = [
        collect<TypingEvent>(b1, 'typing'),
        collect<TypingEvent>(a2, 'typing'),
        collect<TypingEvent>(c1, 'typing'),
      ];
      const started = Date.now();
      const acks = [];
      for (let i = 0; i < 50; i++) {
        acks.push(ack(a1, 'typing', { conversationId: conv, typing: true }));
        await new Promise((r) => setTimeout(r, 10));
      }
      expect((await Promise.all(acks)).every((a) => a.ok)).toBe(true);
      await waitFor(() => onB.some((t) => !t.typing), 15_000, 'typing false by expiry');
      const elapsed = Date.now() - started;
      expect(onB.filter((t) => t.typing).length).toBeGreaterThanOrEqual(1);
      expect(onB.filter((t) => t.typing).length).toBeLessThanOrEqual(2);
      expect(onB[onB.length - 1]).toEqual({ conversationId: conv, userId: alice, typing: false });
      // Expired TYPING_EXPIRE_MS (2 s) after the last refresh, not at once and not never.
      expect(elapsed).toBeGreaterThanOrEqual(2_000);
      expect(onA2).toEqual([]);
      expect(onC).toEqual([]);
    });

    it('clears the indicator when the typer sends a message there', async () => {
      const onB = collect<TypingEvent>(b1, 'typing');
      await ack(a1, 'typing', { conversationId: conv, typing: true });
      await waitFor(() => onB.length === 1, 15_000, 'typing true');
      expect((await send(a1, textSend(conv, 'done typing'))).ok).toBe(true);
      await waitFor(() => onB.length === 2, 15_000, 'typing false after the send');
      expect(onB.map((t) => t.typing)).toEqual([true, false]);
    });

    it("clears the indicator when the typer's last socket goes", async () => {
      const dave = randomUUID();
      const room = h.accounts.conversation([dave, bob], { kind: 'room' }).id;
      const d1 = await h.connect(gw, dave);
      const onB = collect<TypingEvent>(b1, 'typing');
      await ack(d1, 'typing', { conversationId: room, typing: true });
      await waitFor(() => onB.length === 1, 15_000, 'typing true');
      d1.disconnect();
      await waitFor(() => onB.length === 2, 15_000, 'typing false after disconnect');
      expect(onB[1]).toEqual({ conversationId: room, userId: dave, typing: false });
    });

    it('refuses bad input with coded errors and broadcasts nothing', async () => {
      const onB = collect<TypingEvent>(b1, 'typing');
      expect(await ack(c1, 'typing', { conversationId: conv, typing: true })).toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND' },
      });
      expect(await ack(a1, 'typing', { conversationId: randomUUID(), typing: true })).toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND' },
      });
      expect(await ack(a1, 'typing', { conversationId: 'not-an-id', typing: true })).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION' },
      });
      expect(await ack(a1, 'typing', { conversationId: conv, typing: 1 })).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION' },
      });
      // A marker through the same path proves nothing earlier is still on its way.
      await ack(a1, 'typing', { conversationId: conv, typing: true });
      await waitFor(() => onB.length === 1, 15_000, 'the marker');
      expect(onB).toEqual([{ conversationId: conv, userId: alice, typing: true }]);
      await ack(a1, 'typing', { conversationId: conv, typing: false });
    });
  });

  describe('read receipts', () => {
    it("goes to the other members and the reader's other sockets, only forward, never to strangers", async () => {
      const [r1, r2, w1, s1] = await Promise.all([
        h.connect(gw, bob),
        h.connect(gw, bob),
        h.connect(gw, alice),
        h.connect(gw, carol),
      ]);
      const m1 = await send(w1, textSend(conv, 'one'));
      const m2 = await send(w1, textSend(conv, 'two'));
      if (!m1.ok || !m2.ok) throw new Error('send failed');
      const [onR1, onR2, onW, onS] = [
        collect<ReadEvent>(r1, 'read'),
        collect<ReadEvent>(r2, 'read'),
        collect<ReadEvent>(w1, 'read'),
        collect<ReadEvent>(s1, 'read'),
      ];
      expect(await ack(r1, 'read', { conversationId: conv, messageId: m2.message.id })).toEqual({ ok: true });
      await waitFor(() => onW.length === 1 && onR2.length === 1, 15_000, 'read delivered');
      expect(onW[0]).toMatchObject({ conversationId: conv, userId: bob, messageId: m2.message.id });
      // Backward and repeated reads are acked but not broadcast.
      expect(await ack(r2, 'read', { conversationId: conv, messageId: m1.message.id })).toEqual({ ok: true });
      expect(await ack(r1, 'read', { conversationId: conv, messageId: m2.message.id })).toEqual({ ok: true });
      // Bad input: coded errors.
      expect(await ack(s1, 'read', { conversationId: conv, messageId: m2.message.id })).toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND' },
      });
      expect(await ack(r1, 'read', { conversationId: randomUUID(), messageId: m2.message.id })).toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND' },
      });
      expect(await ack(r1, 'read', { conversationId: conv, messageId: 42 })).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION' },
      });
      // A forward read as a marker: everything before it has been routed.
      const m3 = await send(w1, textSend(conv, 'three'));
      if (!m3.ok) throw new Error('send failed');
      await ack(r2, 'read', { conversationId: conv, messageId: m3.message.id });
      await waitFor(() => onW.length === 2 && onR1.length === 1, 15_000, 'the marker read');
      expect(onW.map((r) => r.messageId)).toEqual([m2.message.id, m3.message.id]);
      expect(onR1.map((r) => r.messageId)).toEqual([m3.message.id]);
      expect(onR2.map((r) => r.messageId)).toEqual([m2.message.id]);
      expect(onS).toEqual([]);
    });
  });
});
