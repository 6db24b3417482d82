import { call, befriend, registerUsers, startHarness, type Harness, type TestUser } from './harness';

describe('friends, requests and blocks', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const users = (n: number) => registerUsers(h.app, n);
  const request = (from: TestUser, to: TestUser | string) =>
    call(h.app, 'POST', '/api/v1/friends/requests', {
      token: from.token,
      body: { username: typeof to === 'string' ? to : to.username },
    });
  const sendable = async (conversationId: string) =>
    (await call(h.app, 'GET', `/internal/v1/conversations/${conversationId}`)).body.sendable as boolean;
  const directCount = async (a: TestUser, b: TestUser) =>
    (
      await h.database.pool.query(
        `select count(*)::int as n from accounts.conversations where kind = 'direct' and $1::uuid in (direct_a, direct_b) and $2::uuid in (direct_a, direct_b)`,
        [a.id, b.id],
      )
    ).rows[0].n as number;

  it('request, list both ways, accept: friends with a direct conversation', async () => {
    const [a, b] = await users(2);
    const req = await request(a, b.username.toUpperCase());
    expect(req.status).toBe(201);
    expect(req.body).toMatchObject({ to: { id: b.id } });
    const mine = await call(h.app, 'GET', '/api/v1/friends/requests', { token: a.token });
    expect(mine.body).toEqual({
      incoming: [],
      outgoing: [expect.objectContaining({ id: req.body.id, to: expect.objectContaining({ id: b.id }) })],
    });
    const theirs = await call(h.app, 'GET', '/api/v1/friends/requests', { token: b.token });
    expect(theirs.body.incoming).toEqual([
      expect.objectContaining({ id: req.body.id, from: expect.objectContaining({ id: a.id }) }),
    ]);

    expect((await request(a, b)).status).toBe(409);
    const acc = await call(h.app, 'POST', `/api/v1/friends/requests/${req.body.id}/accept`, { token: b.token });
    expect(acc.status).toBe(200);
    expect(acc.body).toMatchObject({ user: { id: a.id }, online: false, lastSeenAt: null });
    const friendsOfA = await call(h.app, 'GET', '/api/v1/friends', { token: a.token });
    expect(friendsOfA.body).toEqual([
      expect.objectContaining({ user: expect.objectContaining({ id: b.id }), conversationId: acc.body.conversationId }),
    ]);
    const convs = await call(h.app, 'GET', '/api/v1/conversations', { token: a.token });
    expect(convs.body).toEqual([
      expect.objectContaining({
        id: acc.body.conversationId,
        kind: 'direct',
        title: null,
        lastMessage: null,
        unreadCount: 0,
      }),
    ]);
    expect(convs.body[0].members.map((m: { userId: string }) => m.userId).sort()).toEqual([a.id, b.id].sort());
    expect(await sendable(acc.body.conversationId)).toBe(true);
    expect((await request(b, a)).status).toBe(409);
    expect((await call(h.app, 'GET', '/api/v1/friends/requests', { token: b.token })).body).toEqual({
      incoming: [],
      outgoing: [],
    });
  });

  it('a request to someone who already asked you makes you friends at once (200)', async () => {
    const [a, b] = await users(2);
    expect((await request(a, b)).status).toBe(201);
    const back = await request(b, a);
    expect(back.status).toBe(200);
    expect(back.body.user.id).toBe(a.id);
    expect(await directCount(a, b)).toBe(1);
  });

  it('refuses requests to yourself, to unknown users and bad bodies', async () => {
    const [a] = await users(1);
    expect((await request(a, a)).body.error.code).toBe('VALIDATION');
    expect((await request(a, 'nobody_here')).status).toBe(404);
    expect(
      (await call(h.app, 'POST', '/api/v1/friends/requests', { token: a.token, body: { username: 'x', extra: 1 } }))
        .status,
    ).toBe(400);
    expect((await call(h.app, 'POST', '/api/v1/friends/requests', { body: { username: 'x' } })).status).toBe(401);
  });

  it('decline and cancel remove the request; only the right side can do each', async () => {
    const [a, b, c] = await users(3);
    const r1 = await request(a, b);
    expect(
      (await call(h.app, 'POST', `/api/v1/friends/requests/${r1.body.id}/decline`, { token: a.token })).status,
    ).toBe(404);
    expect(
      (await call(h.app, 'POST', `/api/v1/friends/requests/${r1.body.id}/accept`, { token: c.token })).status,
    ).toBe(404);
    expect(
      (await call(h.app, 'POST', `/api/v1/friends/requests/${r1.body.id}/decline`, { token: b.token })).status,
    ).toBe(204);
    expect(
      (await call(h.app, 'POST', `/api/v1/friends/requests/${r1.body.id}/accept`, { token: b.token })).status,
    ).toBe(404);
    const r2 = await request(a, c);
    expect((await call(h.app, 'DELETE', `/api/v1/friends/requests/${r2.body.id}`, { token: c.token })).status).toBe(
      404,
    );
    expect((await call(h.app, 'DELETE', `/api/v1/friends/requests/${r2.body.id}`, { token: a.token })).status).toBe(
      204,
    );
    expect((await call(h.app, 'GET', '/api/v1/friends/requests', { token: c.token })).body.incoming).toEqual([]);
    expect((await call(h.app, 'POST', '/api/v1/friends/requests/not-a-uuid/accept', { token: b.token })).status).toBe(
      400,
    );
  });

  it('unfriend keeps the direct conversation readable but no longer sendable', async () => {
    const [a, b] = await users(2);
    const conv = await befriend(h.app, a, b);
    expect((await call(h.app, 'DELETE', `/api/v1/friends/${b.id}`, { token: a.token })).status).toBe(204);
    expect((await call(h.app, 'DELETE', `/api/v1/friends/${b.id}`, { token: a.token })).status).toBe(404);
    expect((await call(h.app, 'GET', '/api/v1/friends', { token: b.token })).body).toEqual([]);
    expect(await sendable(conv)).toBe(false);
    expect(
      (await call(h.app, 'GET', '/api/v1/conversations', { token: b.token })).body.map((c: { id: string }) => c.id),
    ).toEqual([conv]);
    // Friends again: the same conversation, sendable again.
    const again = await befriend(h.app, b, a);
    expect(again).toBe(conv);
    expect(await sendable(conv)).toBe(true);
  });

  it('blocks: the blocked user gets only a refusal, friendship and requests end, unblock restores asking', async () => {
    const [a, b, c] = await users(3);
    const conv = await befriend(h.app, a, b);
    const pending = await request(c, a);
    expect((await call(h.app, 'POST', '/api/v1/blocks', { token: a.token, body: { userId: b.id } })).status).toBe(204);
    expect((await call(h.app, 'POST', '/api/v1/blocks', { token: a.token, body: { userId: c.id } })).status).toBe(204);
    // Idempotent.
    expect((await call(h.app, 'POST', '/api/v1/blocks', { token: a.token, body: { userId: c.id } })).status).toBe(204);
    expect((await call(h.app, 'GET', '/api/v1/friends', { token: a.token })).body).toEqual([]);
    expect((await call(h.app, 'GET', '/api/v1/friends/requests', { token: a.token })).body.incoming).toEqual([]);
    expect(
      (await call(h.app, 'POST', `/api/v1/friends/requests/${pending.body.id}/accept`, { token: a.token })).status,
    ).toBe(404);
    expect(await sendable(conv)).toBe(false);
    const refused = await request(b, a);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).not.toMatch(/block/i);
    expect((await request(a, b)).status).toBe(403);
    // The blocked user cannot be re-befriended into a direct conversation or pulled into a room by the blocked one.
    expect(
      (
        await call(h.app, 'POST', '/api/v1/conversations/rooms', {
          token: b.token,
          body: { title: 'sneaky', memberIds: [a.id] },
        })
      ).status,
    ).toBe(403);
    const blocks = await call(h.app, 'GET', '/api/v1/blocks', { token: a.token });
    expect(blocks.body.map((x: { user: { id: string } }) => x.user.id).sort()).toEqual([b.id, c.id].sort());
    expect((await call(h.app, 'DELETE', `/api/v1/blocks/${b.id}`, { token: a.token })).status).toBe(204);
    expect((await call(h.app, 'DELETE', `/api/v1/blocks/${b.id}`, { token: a.token })).status).toBe(404);
    expect((await request(b, a)).status).toBe(201);
    expect((await call(h.app, 'POST', '/api/v1/blocks', { token: a.token, body: { userId: a.id } })).status).toBe(400);
    expect(
      (
        await call(h.app, 'POST', '/api/v1/blocks', {
          token: a.token,
          body: { userId: '00000000-0000-4000-8000-000000000000' },
        })
      ).status,
    ).toBe(404);
  });

  it('concurrent accepts of one request: one wins, exactly one direct conversation', async () => {
    const [a, b] = await users(2);
    const req = await request(a, b);
    const res = await Promise.all(
      Array.from({ length: 6 }, () =>
        call(h.app, 'POST', `/api/v1/friends/requests/${req.body.id}/accept`, { token: b.token }),
      ),
    );
    expect(res.map((r) => r.status).sort()).toEqual([200, 404, 404, 404, 404, 404]);
    expect(await directCount(a, b)).toBe(1);
  });

  it('concurrent mutual requests end as friends with exactly one direct conversation', async () => {
    for (let i = 0; i < 3; i++) {
      const [a, b] = await users(2);
      const res = await Promise.all([request(a, b), request(b, a), request(a, b), request(b, a)]);
      expect(res.map((r) => r.status).filter((s) => s === 200 || s === 201).length).toBeGreaterThanOrEqual(2);
      expect(res.every((r) => [200, 201, 409].includes(r.status))).toBe(true);
      expect((await call(h.app, 'GET', '/api/v1/friends', { token: a.token })).body).toHaveLength(1);
      expect(await directCount(a, b)).toBe(1);
    }
  });

  it('POST /conversations/direct returns the same conversation every time, also concurrently and from two instances', async () => {
    const [a, b] = await users(2);
    // Friends without the accept path's conversation: insert the friendship directly to race creation.
    const [x, y] = [a.id, b.id].sort();
    await h.database.pool.query('insert into accounts.friendships (user_a, user_b) values ($1, $2)', [x, y]);
    const other = await h.another();
    const res = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        call(i % 2 ? other.app : h.app, 'POST', '/api/v1/conversations/direct', {
          token: i % 3 ? a.token : b.token,
          body: { userId: i % 3 ? b.id : a.id },
        }),
      ),
    );
    expect(res.every((r) => r.status === 200)).toBe(true);
    expect(new Set(res.map((r) => r.body.id)).size).toBe(1);
    expect(await directCount(a, b)).toBe(1);
    expect(res[0]!.body.members).toHaveLength(2);
  });

  it('POST /conversations/direct refuses strangers, yourself and unknown users', async () => {
    const [a, b] = await users(2);
    expect(
      (await call(h.app, 'POST', '/api/v1/conversations/direct', { token: a.token, body: { userId: b.id } })).status,
    ).toBe(403);
    expect(
      (await call(h.app, 'POST', '/api/v1/conversations/direct', { token: a.token, body: { userId: a.id } })).status,
    ).toBe(400);
    expect(
      (
        await call(h.app, 'POST', '/api/v1/conversations/direct', {
          token: a.token,
          body: { userId: '00000000-0000-4000-8000-000000000000' },
        })
      ).status,
    ).toBe(404);
  });
});
