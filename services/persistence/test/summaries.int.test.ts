import { randomUUID } from 'node:crypto';
import type { Message } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { messageId, startHarness, textMessage, type Harness } from './harness';

describe('read markers and summaries', () => {
  let h: Harness;
  const alice = randomUUID();
  const bob = randomUUID();

  beforeAll(async () => {
    h = await startHarness();
    await h.startConsumer();
  });
  afterAll(() => h.close());

  const summaries = async (userId: string, conversationIds: string[]) => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/internal/v1/summaries',
      payload: { userId, conversationIds },
    });
    expect(res.statusCode).toBe(200);
    return res.json().summaries;
  };
  const send = async (msgs: Message[]) => {
    for (const m of msgs) await h.publisher.publish('message.created', m);
    const last = msgs.at(-1)!;
    await waitFor(
      async () =>
        (await h.database.pool.query('select 1 from persistence.messages where id = $1', [last.id])).rowCount === 1,
      15_000,
      'stored',
    );
  };
  const read = async (conversationId: string, userId: string, id: string) => {
    const at = new Date().toISOString();
    await h.publisher.publish('message.read', { conversationId, userId, messageId: id, at });
  };
  const marker = async (conversationId: string, userId: string) =>
    (
      await h.database.pool.query(
        'select message_id from persistence.read_markers where conversation_id = $1 and user_id = $2',
        [conversationId, userId],
      )
    ).rows[0]?.message_id;

  it('moves a read marker forward only', async () => {
    const c = randomUUID();
    const m = Object.fromEntries([1, 30, 40, 50, 60].map((n) => [n, textMessage(c, alice, { id: messageId(n) })]));
    await send(Object.values(m));
    await read(c, bob, m[50]!.id);
    await waitFor(async () => (await marker(c, bob)) === m[50]!.id, 15_000, 'the marker');
    await read(c, bob, m[30]!.id);
    await read(c, bob, m[50]!.id);
    await read(c, bob, m[60]!.id);
    await waitFor(async () => (await marker(c, bob)) === m[60]!.id, 15_000, 'the marker at 60');
    await read(c, bob, m[40]!.id);
    // A later event, so once it is handled the older read is known to have been handled too.
    await read(c, alice, m[1]!.id);
    await waitFor(async () => (await marker(c, alice)) === m[1]!.id, 15_000, 'alice marker');
    expect(await marker(c, bob)).toBe(m[60]!.id);
  });

  it('ignores a marker that names no message of that conversation (a forged id would pin it for good)', async () => {
    const c = randomUUID();
    const other = randomUUID();
    const mine = textMessage(c, alice, { id: messageId(700) });
    const elsewhere = textMessage(other, alice, { id: messageId(800) });
    await send([mine, elsewhere]);
    await read(c, bob, '7ZZZZZZZZZZZZZZZZZZZZZZZZZ');
    await read(c, bob, elsewhere.id);
    await read(c, bob, messageId(750)); // plausible, but never sent
    await read(c, alice, mine.id); // handled after the three above
    await waitFor(async () => (await marker(c, alice)) === mine.id, 15_000, 'alice marker');
    expect(await marker(c, bob)).toBeUndefined();
    // The reader's marker still moves to a real message afterwards, and unread counts stay right.
    await read(c, bob, mine.id);
    await waitFor(async () => (await marker(c, bob)) === mine.id, 15_000, 'bob marker');
    const later = textMessage(c, alice, { id: messageId(900) });
    await send([later]);
    expect((await summaries(bob, [c]))[c].unreadCount).toBe(1);
  });

  it('counts unread messages after the marker that others sent, and gives the last message and markers', async () => {
    const c1 = randomUUID();
    const c2 = randomUUID();
    const empty = randomUUID();
    const m = [1, 2, 3, 4, 5].map((n) =>
      textMessage(c1, n === 3 ? bob : alice, { id: messageId(100 + n), body: `m${n}` }),
    );
    await send(m);
    await send([textMessage(c2, bob, { id: messageId(200) })]);

    let s = await summaries(bob, [c1, c2, empty]);
    expect(s[c1]).toEqual({ lastMessage: m[4], unreadCount: 4, lastActivityAt: m[4]!.createdAt, readMarkers: {} });
    expect(s[c2].unreadCount).toBe(0); // bob's own message
    expect(s[empty]).toEqual({ lastMessage: null, unreadCount: 0, lastActivityAt: null, readMarkers: {} });

    await read(c1, bob, m[1]!.id);
    await read(c1, alice, m[4]!.id);
    await waitFor(
      async () => (await marker(c1, alice)) === m[4]!.id && (await marker(c1, bob)) === m[1]!.id,
      15_000,
      'markers',
    );
    s = await summaries(bob, [c1]);
    expect(s[c1].unreadCount).toBe(2); // m4, m5 (m3 is bob's)
    expect(s[c1].readMarkers).toEqual({ [bob]: m[1]!.id, [alice]: m[4]!.id });
    expect((await summaries(alice, [c1]))[c1].unreadCount).toBe(0);

    const more = [6, 7].map((n) => textMessage(c1, alice, { id: messageId(100 + n) }));
    await send(more);
    s = await summaries(bob, [c1]);
    expect(s[c1].unreadCount).toBe(4);
    expect(s[c1].lastMessage).toEqual(more[1]);
  });

  it('stores room events as history entries of kind "event", in id order, never counted as unread', async () => {
    const c = randomUUID();
    const hello = textMessage(c, alice, { id: messageId(301), body: 'hello' });
    const joined: Message = {
      ...textMessage(c, alice, { id: messageId(302) }),
      kind: 'event',
      event: { type: 'joined', userId: bob },
    };
    delete joined.body;
    await send([joined, hello]);
    const s = await summaries(bob, [c]);
    expect(s[c].unreadCount).toBe(1);
    expect(s[c].lastMessage).toEqual(joined);
  });

  it('refuses a malformed body with VALIDATION', async () => {
    for (const payload of [
      {},
      { userId: 'x', conversationIds: [] },
      { userId: alice, conversationIds: ['nope'] },
      { userId: alice, conversationIds: [], extra: 1 },
    ]) {
      const res = await h.app.inject({ method: 'POST', url: '/internal/v1/summaries', payload });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION');
    }
  });

  it('answers for hundreds of conversations in one call', async () => {
    const ids = Array.from({ length: 300 }, () => randomUUID());
    const s = await summaries(alice, ids);
    expect(Object.keys(s)).toHaveLength(300);
  });
});
