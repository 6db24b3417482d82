/** Socket events at the edge: forged read markers, ids in another case, unstorable strings. */
import { randomUUID } from 'node:crypto';
import { io as connectClient } from 'socket.io-client';
import { createTestIssuer } from '@chat/auth';
import { freePort } from '@chat/local-infra';
import { waitFor } from '@chat/testkit';
import { changeRoomMembers, collect, createHarness, send, textSend, type Client, type Harness } from './harness';
import { gatewayConfig, startGateway, type RunningGateway } from '../src/server';

/**
 * The most a gateway limit (rate-limit.ts: `perSec` per 1 s window, then `burst` per window of
 * ceil(burst / perSec) s, both fixed windows from the first take) lets through in `ms`.
 */
const allowedWithin = (ms: number, { perSec, burst }: { perSec: number; burst: number }) =>
  (Math.floor(ms / 1_000) + 1) * perSec + (Math.floor(ms / (Math.ceil(burst / perSec) * 1_000)) + 1) * burst;
const emit = (s: Client, event: string, payload: unknown) => (s.timeout(15_000) as any).emitWithAck(event, payload);

describe('socket events at the edge', () => {
  let h: Harness;
  let gw: RunningGateway;
  const [alice, bob] = [randomUUID(), randomUUID()];
  let a1: Client;
  let b1: Client;

  beforeAll(async () => {
    h = await createHarness();
    gw = await h.startGateway();
    await h.startWorker();
    [a1, b1] = await Promise.all([h.connect(gw, alice), h.connect(gw, bob)]);
  });
  afterAll(() => h.close());

  it('refuses a read marker no gateway could have issued (7ZZZ...), and broadcasts nothing', async () => {
    const conv = h.accounts.conversation([alice, bob]).id;
    const onA = collect(a1, 'read');
    const res = await emit(b1, 'read', { conversationId: conv, messageId: '7ZZZZZZZZZZZZZZZZZZZZZZZZZ' });
    expect(res).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    // A genuine read afterwards is forwarded (the forged one did not move the gateway's cursor either).
    const ack = await send(a1, textSend(conv, 'read me'));
    if (!ack.ok) throw new Error('send failed');
    expect(await emit(b1, 'read', { conversationId: conv, messageId: ack.message.id })).toEqual({ ok: true });
    await waitFor(() => onA.length === 1, 15_000, 'the genuine read');
    expect(onA[0]).toMatchObject({ messageId: ack.message.id });
  });

  it('refuses a text body with U+0000 or a lone surrogate with VALIDATION (it could never be stored)', async () => {
    const conv = h.accounts.conversation([alice, bob]).id;
    for (const body of ['a\u0000b', 'x\uD800', '\uDC00']) {
      expect(await send(a1, textSend(conv, body))).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    }
  });

  it('refuses an encrypted payload over its byte bound, and drops a socket whose frame is over the limit', async () => {
    const conv = h.accounts.conversation([alice, bob]).id;
    const encrypted = (recipients: number) => ({
      conversationId: conv,
      clientMsgId: randomUUID(),
      encrypted: {
        ciphertext: 'c',
        nonce: 'n',
        keyId: 'k',
        senderDeviceId: 'd',
        recipients: Array.from({ length: recipients }, (_, i) => ({ deviceId: `d${i}`, wrappedKey: 'w'.repeat(1000) })),
      },
    });
    // ~150 KiB: fits a frame, but not the payload bound.
    expect(await send(a1, encrypted(150))).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    // ~800 KiB (accepted before): over the frame limit, the socket is closed without a word.
    const big = await h.connect(gw, alice);
    const gone = new Promise<string>((resolve) => big.once('disconnect', resolve));
    big.emit('message:send', encrypted(800), () => undefined);
    expect(await gone).toBe('transport close');
  });

  it('takes an upper-case conversation id as the same conversation, and forgets a removed member at once in any case', async () => {
    const room = h.accounts.conversation([alice, bob, randomUUID()], { kind: 'room' });
    const upper = room.id.toUpperCase();
    const ack = await send(b1, textSend(upper, 'shouting'));
    expect(ack).toMatchObject({ ok: true, message: { conversationId: room.id } });
    // Bob is removed: the next send, spelled either way, is refused without waiting for a cache to expire.
    await changeRoomMembers(h, gw, room, {
      type: 'member_removed',
      memberIds: room.members.map((m) => m.userId).filter((id) => id !== bob),
      removedUserIds: [bob],
      userId: bob,
    });
    await waitFor(async () => !(await send(b1, textSend(room.id))).ok, 15_000, 'bob removed');
    expect(await send(b1, textSend(upper))).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('limits typing toggles and read markers per user (each fans out to every member)', async () => {
    const limited = await h.startGateway({
      TYPING_RATE_PER_SEC: 1,
      TYPING_RATE_BURST: 3,
      READ_RATE_PER_SEC: 2,
      READ_RATE_BURST: 3,
    });
    const conv = h.accounts.conversation([alice, bob]).id;
    const a = await h.connect(limited, alice);
    // Toggling on and off is not throttled by the typing tracker: the limit is what stops it.
    const typing = [];
    const startedAt = Date.now();
    for (let i = 0; i < 12; i++) typing.push(await emit(a, 'typing', { conversationId: conv, typing: i % 2 === 0 }));
    // Each toggle that publishes takes a point; one that publishes nothing (the `false` after a refused
    // `true`) passes without one, and only right after a refusal. So with `points` available over however
    // many windows the 12 round trips spanned (4 when idle; a loaded machine spans more), at most
    // (12 + points) / 2 pass (8 when idle), and at least one is refused.
    const points = allowedWithin(Date.now() - startedAt, { perSec: 1, burst: 3 });
    expect(typing.filter((r) => r.ok).length).toBeLessThanOrEqual(Math.min(Math.floor((12 + points) / 2), 11));
    expect(typing.find((r) => !r.ok)).toMatchObject({
      ok: false,
      error: { code: 'RATE_LIMITED', retryable: true, retryAfterMs: expect.any(Number) },
    });
    const ack = await send(a, textSend(conv, 'read me'));
    if (!ack.ok) throw new Error('send failed');
    const readsAt = Date.now();
    const reads = await Promise.all(
      Array.from({ length: 12 }, () => emit(a, 'read', { conversationId: conv, messageId: ack.message.id })),
    );
    // 2 + 3 = 5 when the 12 land within a second, as they do unless the machine stalls.
    expect(reads.filter((r) => r.ok).length).toBeGreaterThanOrEqual(5);
    expect(reads.filter((r) => r.ok).length).toBeLessThanOrEqual(
      allowedWithin(Date.now() - readsAt, { perSec: 2, burst: 3 }),
    );
    expect(reads.filter((r) => !r.ok).every((r) => r.error.code === 'RATE_LIMITED')).toBe(true);
  });
});

describe('session revocation', () => {
  let h: Harness;
  let gw: RunningGateway;
  beforeAll(async () => {
    h = await createHarness();
    gw = await h.startGateway();
  });
  afterAll(() => h.close());

  const connectWith = async (token: string): Promise<Client> => {
    const s: Client = connectClient(gw.url, {
      auth: { token },
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    });
    return s;
  };

  it('disconnects at once the sockets of a revoked session, and only those', async () => {
    const user = randomUUID();
    const [revoked, kept] = [randomUUID(), randomUUID()];
    const [s1, s2, s3] = await Promise.all([
      connectWith(await h.issuer.sign(user, 'u', 900, revoked)),
      connectWith(await h.issuer.sign(user, 'u', 900, revoked)),
      connectWith(await h.issuer.sign(user, 'u', 900, kept)),
    ]);
    const reasons = [s1, s2].map((s) => new Promise<string>((resolve) => s.once('disconnect', resolve)));
    await gw.broker.publish('session.revoked', { userId: user, sessionId: revoked });
    expect(await Promise.all(reasons)).toEqual(['io server disconnect', 'io server disconnect']);
    expect(s3.connected).toBe(true);
    s3.close();
  });
});

describe('a gateway whose broker is not up yet', () => {
  it('reports not ready and refuses sockets with UNAVAILABLE until its first broker connection', async () => {
    const issuer = await createTestIssuer();
    const gw = await startGateway(
      gatewayConfig({
        PORT: 0,
        AMQP_URL: `amqp://guest:guest@127.0.0.1:${await freePort()}`,
        INSTANCE_ID: `test-${randomUUID()}`,
      }),
      { verifier: issuer.verifier, awaitBroker: false },
    );
    try {
      expect((await fetch(`${gw.url}/readyz`)).status).toBe(503);
      const s = connectClient(gw.url, {
        auth: { token: await issuer.sign(randomUUID()) },
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
      });
      const err = await new Promise<{ data?: unknown }>((resolve, reject) => {
        s.once('connect', () => reject(new Error('connected before the broker')));
        s.once('connect_error', (e) => resolve(e as { data?: unknown }));
      });
      s.close();
      expect(err.data).toMatchObject({ error: { code: 'UNAVAILABLE', retryable: true } });
    } finally {
      await gw.close();
    }
  });
});
