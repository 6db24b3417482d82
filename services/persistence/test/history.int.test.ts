import { randomUUID } from 'node:crypto';
import { createTestIssuer } from '@chat/auth';
import type { Message } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { messageId, startHarness, textMessage, type Harness } from './harness';

describe('history over real Postgres and RabbitMQ', () => {
  let h: Harness;
  const alice = randomUUID();
  const bob = randomUUID();
  const mallory = randomUUID();

  beforeAll(async () => {
    h = await startHarness();
    await h.startConsumer();
  });
  afterAll(() => h.close());

  /** A room of alice and bob, learnt from a conversation.changed event. */
  const room = async (memberIds = [alice, bob]) => {
    const id = randomUUID();
    await h.setMembers(id, memberIds);
    await waitFor(async () => (await h.deps.members.check(id, memberIds[0]!)) === 'member', 15_000, 'the member list');
    return id;
  };
  const publishAll = async (msgs: Message[]) => {
    for (const m of msgs) await h.publisher.publish('message.created', m);
  };
  const stored = async (conversationId: string, n: number) =>
    waitFor(
      async () => {
        const res = await h.history(conversationId, alice, { limit: 100 });
        return res.body.messages?.length === n && res;
      },
      10_000,
      `${n} messages in history`,
    );

  it('serves published messages to members, oldest first, exactly in the contract shape', async () => {
    const c = await room();
    const text = textMessage(c, alice, { id: messageId(1), body: 'hi bob' });
    const enc: Message = {
      ...textMessage(c, bob, { id: messageId(2) }),
      kind: 'encrypted',
      body: undefined,
      encrypted: { ciphertext: 'Y2lwaGVy', nonce: 'bm9uY2U=', keyId: 'k1', senderDeviceId: 'd1' },
    };
    delete enc.body;
    await publishAll([enc, text]);
    await stored(c, 2);
    const res = await h.history(c, bob);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ messages: [text, enc], hasMore: false });
    expect(Object.keys(res.body.messages[1])).not.toContain('body');
    expect(Object.keys(res.body.messages[0])).not.toContain('encrypted');
  });

  it('answers NOT_FOUND to a non-member and for an unknown conversation, the same way', async () => {
    const c = await room();
    await publishAll([textMessage(c, alice)]);
    await stored(c, 1);
    const outsider = await h.history(c, mallory);
    const unknown = await h.history(randomUUID(), alice);
    expect(outsider).toEqual({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'conversation not found', retryable: false } },
    });
    expect(unknown).toEqual(outsider);
  });

  it('refuses a missing, malformed or foreign token with UNAUTHENTICATED before anything else', async () => {
    const c = await room();
    const url = `/api/v1/conversations/${c}/messages?limit=0`;
    for (const authorization of [undefined, 'Bearer not-a-jwt', 'Basic abc']) {
      const res = await h.app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHENTICATED');
    }
    const other = await createTestIssuer();
    const res = await h.app.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${await other.sign(alice)}` },
    });
    expect(res.statusCode).toBe(401);
  });

  it('answers VALIDATION to bad queries and ids', async () => {
    const c = await room();
    const bad: Record<string, string | number>[] = [
      { limit: 0 },
      { limit: 101 },
      { limit: 'x' },
      { before: 'nope' },
      { before: messageId(1), after: messageId(2) },
      { other: 1 },
    ];
    for (const q of bad) {
      const res = await h.history(c, alice, q);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION');
    }
    const res = await h.history('not-a-uuid', alice);
    expect(res.status).toBe(400);
  });

  it('follows membership changes: a removed member gets NOT_FOUND, an added one reads', async () => {
    const c = await room();
    await publishAll([textMessage(c, alice)]);
    await stored(c, 1);
    expect((await h.history(c, bob)).status).toBe(200);
    await h.setMembers(c, [alice, mallory], [bob]);
    await waitFor(async () => (await h.history(c, bob)).status === 404, 15_000, 'bob removed');
    expect((await h.history(c, mallory)).status).toBe(200);
  });

  it('asks accounts about a conversation it never heard of, stores the answer, and trusts it next time', async () => {
    const c = randomUUID();
    h.accounts.conversations.set(c, [alice, bob]);
    expect((await h.history(c, alice)).status).toBe(200);
    expect((await h.history(c, mallory)).status).toBe(404);
    expect((await h.history(c, bob)).status).toBe(200);
    expect(h.accounts.calls.filter((id) => id === c)).toHaveLength(1);
    const gone = randomUUID();
    expect((await h.history(gone, alice)).status).toBe(404);
    expect(h.accounts.calls).toContain(gone);
  });

  it('answers every member reading a conversation it is learning from accounts at that moment', async () => {
    // The SDK catches up on a new conversation as soon as it hears of it, on each member's client at once:
    // a read that came while another read's answer from accounts was being stored got NOT_FOUND.
    for (let round = 0; round < 10; round++) {
      const c = randomUUID();
      h.accounts.conversations.set(c, [alice, bob]);
      // Reads spread over the time the first one's answer takes to be stored (not all in one tick: those
      // would all find the conversation unknown and share that one lookup).
      const reads: Array<Promise<number>> = [];
      for (let i = 0; i < 24; i++) {
        reads.push(h.history(c, i % 2 ? alice : bob).then((r) => r.status));
        await new Promise((r) => setImmediate(r));
      }
      expect(await Promise.all(reads)).toEqual(Array.from({ length: 24 }, () => 200));
    }
  });

  it('pages 120 messages back with before and forward with after, with hasMore', async () => {
    const c = await room();
    const msgs = Array.from({ length: 120 }, (_, i) =>
      textMessage(c, i % 2 ? alice : bob, { id: messageId(1000 + i), body: `m${i}` }),
    );
    await publishAll(msgs);
    await stored(c, 100);
    await waitFor(
      async () => (await h.history(c, alice, { after: msgs[99]!.id })).body.messages.length === 20,
      10_000,
      'all 120',
    );
    const ids = msgs.map((m) => m.id);

    const newest = await h.history(c, alice);
    expect(newest.body.messages.map((m: Message) => m.id)).toEqual(ids.slice(70));
    expect(newest.body.hasMore).toBe(true);
    const back = await h.history(c, alice, { before: ids[70]!, limit: 50 });
    expect(back.body.messages.map((m: Message) => m.id)).toEqual(ids.slice(20, 70));
    expect(back.body.hasMore).toBe(true);
    const first = await h.history(c, alice, { before: ids[20]!, limit: 50 });
    expect(first.body.messages.map((m: Message) => m.id)).toEqual(ids.slice(0, 20));
    expect(first.body.hasMore).toBe(false);

    const fwd = await h.history(c, alice, { after: ids[9]!, limit: 100 });
    expect(fwd.body.messages.map((m: Message) => m.id)).toEqual(ids.slice(10, 110));
    expect(fwd.body.hasMore).toBe(true);
    const rest = await h.history(c, alice, { after: ids[109]!, limit: 100 });
    expect(rest.body.messages.map((m: Message) => m.id)).toEqual(ids.slice(110));
    expect(rest.body.hasMore).toBe(false);
    const tiny = await h.history(c, alice, { limit: 1 });
    expect(tiny.body).toEqual({ messages: [msgs[119]], hasMore: true });
  });

  it('after=<cursor> returns a message that committed after the cursor was taken even though its id is older', async () => {
    const c = await room();
    const a = textMessage(c, alice, { id: messageId(500), body: 'A (older id, commits late)' });
    const b = textMessage(c, bob, { id: messageId(501), body: 'B (newer id, commits first)' });
    await publishAll([b]);
    await stored(c, 1);
    const page = await h.history(c, alice);
    const cursor = page.body.messages.at(-1).id;
    expect(cursor).toBe(b.id);
    await publishAll([a]);
    await stored(c, 2);
    const sync = await h.history(c, alice, { after: cursor });
    expect(sync.body).toEqual({ messages: [a], hasMore: false });
    // Display order stays the id order.
    expect((await h.history(c, alice)).body.messages.map((m: Message) => m.id)).toEqual([a.id, b.id]);
  });

  it('after= an id not stored here falls back to ids greater than it', async () => {
    const c = await room();
    const msgs = [10, 20, 30].map((n) => textMessage(c, alice, { id: messageId(n) }));
    await publishAll(msgs);
    await stored(c, 3);
    const res = await h.history(c, alice, { after: messageId(15) });
    expect(res.body.messages.map((m: Message) => m.id)).toEqual([msgs[1]!.id, msgs[2]!.id]);
  });

  it('reports readiness of database and broker', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json().checks).toEqual({ database: true, broker: true });
  });
});
