import { randomUUID } from 'node:crypto';
import { io as connectClient } from 'socket.io-client';
import type { EventMeta, Message, SessionEvent } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { createHarness, send, textSend, type Client, type Harness } from './harness';
import type { RunningGateway } from '../src/server';

describe('gateway: per-session event sequences and resume over real sockets and a real broker', () => {
  let h: Harness;
  let gw: RunningGateway;
  const [alice, bob] = [randomUUID(), randomUUID()];
  let conv: string;

  beforeAll(async () => {
    h = await createHarness();
    gw = await h.startGateway({ RESUME_WINDOW_MS: 30_000, RESUME_BUFFER: 5 });
    await h.startWorker();
    conv = h.accounts.conversation([alice, bob]).id;
  });
  afterAll(async () => h.close());

  /** A network failure, not a close: the transport goes without a goodbye. */
  const drop = (s: Client) => (s.io as unknown as { engine: { close: () => void } }).engine.close();

  /** A raw socket of `userId` recording its `session` event and every event with its meta. */
  async function open(userId: string, resume?: { sessionId: string; seq: number }) {
    const token = await h.issuer.sign(userId, 'u');
    const s: Client = connectClient(gw.url, {
      auth: { token, resumable: true, ...(resume ? { resume } : {}) },
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    const events: Array<{ event: string; payload: unknown; meta?: EventMeta }> = [];
    let session: SessionEvent | undefined;
    s.on('session', (e) => (session = e));
    s.onAny((event: string, payload: unknown, meta?: EventMeta) => {
      if (event !== 'session') events.push({ event, payload, meta });
    });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    });
    await waitFor(() => session !== undefined, 15_000, 'session event');
    return { s, events, session: session! };
  }

  it('numbers events 1, 2, 3 and replays the ones a dropped socket missed, in order, on resume', async () => {
    const a = await open(bob);
    expect(a.session).toEqual({ sessionId: expect.any(String), resumed: false, seq: 0, windowMs: 30_000 });
    const sender = await h.connect(gw, alice);
    expect((await send(sender, textSend(conv, 'one'))).ok).toBe(true);
    await waitFor(() => a.events.length === 1, 15_000, 'live event');
    expect(a.events[0]!.meta).toEqual({ seq: 1 });

    drop(a.s);
    for (const body of ['two', 'three']) expect((await send(sender, textSend(conv, body))).ok).toBe(true);
    // Delivered to the detached session (its binding is held): the gateway numbers and keeps both.
    await waitFor(() => gw.socketSessions.lastSeq(a.session.sessionId) === 3, 15_000, 'both buffered');

    const b = await open(bob, { sessionId: a.session.sessionId, seq: 1 });
    await waitFor(() => b.events.length >= 2, 15_000, 'replay');
    expect(b.session).toMatchObject({ sessionId: a.session.sessionId, resumed: true });
    expect(b.events.map((e) => [(e.payload as Message).body, e.meta?.seq])).toEqual([
      ['two', 2],
      ['three', 3],
    ]);
    // Live events continue the same sequence.
    expect((await send(sender, textSend(conv, 'four'))).ok).toBe(true);
    await waitFor(() => b.events.length === 3, 15_000, 'live after resume');
    expect(b.events[2]!.meta).toEqual({ seq: 4 });
    b.s.disconnect();
    const metrics = await (await fetch(`${gw.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/gateway_socket_sessions_total\{[^}]*outcome="resumed"[^}]*\} 1/);
  });

  it('a socket closed on purpose leaves nothing to resume', async () => {
    const a = await open(bob);
    a.s.disconnect();
    await waitFor(() => gw.socketSessions.lastSeq(a.session.sessionId) === undefined, 15_000, 'forgotten');
    expect((await open(bob, { sessionId: a.session.sessionId, seq: 0 })).session).toMatchObject({
      resumed: false,
      resync: 'unknown_session',
    });
  });

  it("tells the client to resync when it cannot resume: unknown session, another user's, too far behind", async () => {
    expect((await open(bob, { sessionId: randomUUID(), seq: 3 })).session).toMatchObject({
      resumed: false,
      resync: 'unknown_session',
      seq: 0,
    });
    const a = await open(bob);
    expect((await open(alice, { sessionId: a.session.sessionId, seq: 0 })).session).toMatchObject({
      resumed: false,
      resync: 'unknown_session',
    });
    drop(a.s);
    const sender = await h.connect(gw, alice);
    for (let i = 0; i < 7; i++) expect((await send(sender, textSend(conv, `n${i}`))).ok).toBe(true);
    await waitFor(() => gw.socketSessions.lastSeq(a.session.sessionId) === 7, 15_000, 'all numbered');
    const bad = await open(bob, { sessionId: a.session.sessionId, seq: 0 });
    // RESUME_BUFFER is 5: events 1 and 2 are gone, so a resume from 0 would skip them.
    expect(bad.session).toMatchObject({ resumed: false, resync: 'too_far_behind' });
    const malformed = await open(bob, { sessionId: 'nope', seq: -1 });
    expect(malformed.session).toMatchObject({ resumed: false, resync: 'invalid' });
  });
});
