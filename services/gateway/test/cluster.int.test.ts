import { randomUUID } from 'node:crypto';
import type { Message } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { collect, createHarness, send, textSend, type Client, type Harness } from './harness';
import type { RunningGateway } from '../src/server';
import { RecentSends } from '../src/domain/recent-sends';

describe('two gateways and two delivery workers side by side', () => {
  let h: Harness;
  let g1: RunningGateway;
  let g2: RunningGateway;
  const [alice, bob, carol] = [randomUUID(), randomUUID(), randomUUID()];

  beforeAll(async () => {
    h = await createHarness();
    [g1, g2] = await Promise.all([h.startGateway(), h.startGateway()]);
    await Promise.all([h.startWorker(), h.startWorker()]);
  });
  afterAll(async () => h.close());

  const ids = (ms: Message[]) => ms.map((m) => m.id).sort();

  it('carries messages both ways between users on different gateways', async () => {
    const conv = h.accounts.conversation([alice, bob]).id;
    const [a, b] = await Promise.all([h.connect(g1, alice), h.connect(g2, bob)]);
    const [onA, onB] = [collect(a), collect(b)];
    const sentByA: Message[] = [];
    const sentByB: Message[] = [];
    for (let i = 0; i < 20; i++) {
      const [x, y] = await Promise.all([send(a, textSend(conv, `a${i}`)), send(b, textSend(conv, `b${i}`))]);
      if (!x.ok || !y.ok) throw new Error('send refused');
      sentByA.push(x.message);
      sentByB.push(y.message);
    }
    await waitFor(() => onA.length === 20 && onB.length === 20, 10_000, 'both directions');
    expect(ids(onB)).toEqual(ids(sentByA));
    expect(ids(onA)).toEqual(ids(sentByB));
  });

  it('gives a user with sockets on both gateways every message once per socket', async () => {
    const room = h.accounts.conversation([alice, bob, carol], { kind: 'room' }).id;
    const [a, b, c1, c2, c3] = await Promise.all([
      h.connect(g1, alice),
      h.connect(g2, bob),
      h.connect(g1, carol),
      h.connect(g2, carol),
      h.connect(g2, carol),
    ]);
    const carols: Client[] = [c1, c2, c3];
    const got = carols.map((s) => collect(s));
    const sent: Message[] = [];
    for (let i = 0; i < 30; i++) {
      const ack = await send(i % 2 ? a : b, textSend(room, `m${i}`));
      if (!ack.ok) throw new Error('send refused');
      sent.push(ack.message);
    }
    await waitFor(() => got.every((g) => g.length >= 30), 10_000, 'every carol socket');
    for (const g of got) expect(ids(g)).toEqual(ids(sent));
    // Carol's own message reaches her other sockets on both gateways, not the one that sent it.
    const before = got.map((g) => g.length);
    const own = await send(c1, textSend(room, 'from carol'));
    if (!own.ok) throw new Error('send refused');
    await waitFor(() => got[1]!.length === before[1]! + 1 && got[2]!.length === before[2]! + 1, 15_000, "carol's echo");
    const marker = await send(c2, textSend(room, 'marker'));
    await waitFor(() => got[0]!.some((m) => marker.ok && m.id === marker.message.id), 15_000, 'the marker on c1');
    expect(got[0]!.filter((m) => m.id === own.message.id)).toHaveLength(0);
    for (const g of got) expect(new Set(g.map((m) => m.id)).size).toBe(g.length);
  });

  it("unbinds a user when their last socket leaves, and keeps the other gateway's users served", async () => {
    const dave = randomUUID();
    const conv = h.accounts.conversation([alice, dave]).id;
    const d1 = await h.connect(g1, dave);
    const d2 = await h.connect(g2, dave);
    const a = await h.connect(g1, alice);
    const on2 = collect(d2);
    d1.disconnect();
    await waitFor(() => !g1.sessions.users().includes(dave), 15_000, 'dave gone from g1');
    expect(g2.sessions.users()).toContain(dave);
    const ack = await send(a, textSend(conv, 'still here?'));
    await waitFor(() => on2.some((m) => ack.ok && m.id === ack.message.id), 15_000, 'dave on g2');
  });

  it('gives a resend through another gateway, after the first one went, the id the first one gave, and delivers it once', async () => {
    const g3 = await h.startGateway();
    const [dan, erin] = [randomUUID(), randomUUID()];
    const conv = h.accounts.conversation([dan, erin]).id;
    const e = await h.connect(g2, erin);
    const onE = collect(e);
    const d1 = await h.connect(g3, dan);
    const payload = textSend(conv, 'exactly once');
    const first = await send(d1, payload);
    if (!first.ok) throw new Error('send refused');
    await waitFor(() => onE.length === 1, 15_000, 'the first delivery');
    // The other gateway learns the send from its own events queue, not from the delivery erin just got:
    // wait for that, or the resend may arrive first and be taken for a new message.
    await waitFor(
      () => g2.recentSends.knows(RecentSends.key(dan, payload.clientMsgId)),
      10_000,
      'the other gateway to learn the send',
    );
    // The first gateway goes away (its ack may never have reached the client): the client resends elsewhere.
    await g3.close();
    const d2 = await h.connect(g2, dan);
    const again = await send(d2, payload);
    expect(again).toEqual({ ok: true, message: first.message });
    const marker = await send(d2, textSend(conv, 'marker'));
    await waitFor(
      () => onE.some((m) => marker.ok && m.id === marker.message.id),
      15_000,
      'the marker after the resend',
    );
    expect(onE.filter((m) => m.clientMsgId === payload.clientMsgId)).toEqual([first.message]);
  });

  it('a delivery worker started after the users connected learns where they are from the gateways, and routes at once', async () => {
    const [fay, gus] = [randomUUID(), randomUUID()];
    const conv = h.accounts.conversation([fay, gus]).id;
    const [f, g] = await Promise.all([h.connect(g1, fay), h.connect(g2, gus)]);
    const onG = collect(g);
    // Every worker that knew these sessions goes; a fresh one (which asks the gateways) is all there is.
    const fresh = await h.startWorker();
    await Promise.all(h.workers.filter((w) => w !== fresh).map((w) => w.stop()));
    const sent = await send(f, textSend(conv, 'after the restart'));
    if (!sent.ok) throw new Error('send refused');
    await waitFor(() => onG.some((m) => m.id === sent.message.id), 15_000, 'the delivery through the fresh worker');
  });
});
