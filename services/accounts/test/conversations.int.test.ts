import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '@chat/local-infra';
import {
  buildAccounts,
  call,
  befriend,
  registerUser,
  registerUsers,
  startHarness,
  type Harness,
  type TestUser,
} from './harness';

describe('rooms, conversation list, users, presence, device keys, internal routes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ ROOM_MAX_MEMBERS: '4', PRESENCE_FANOUT_MAX_ROOM: '3' });
  });
  afterAll(() => h.close());

  const users = (n: number) => registerUsers(h.app, n);
  /** Only friends are added directly: the tests' owners befriend their members first. */
  const ensureFriends = async (a: TestUser, b: TestUser) => {
    const req = await call(h.app, 'POST', '/api/v1/friends/requests', {
      token: a.token,
      body: { username: b.username },
    });
    if (req.status === 201)
      await call(h.app, 'POST', `/api/v1/friends/requests/${req.body.id}/accept`, { token: b.token });
  };
  /** A room with `members` in it: each joins by accepting an invitation (no friendship needed). */
  const room = async (owner: TestUser, members: TestUser[], title = 'room') => {
    const res = await call(h.app, 'POST', '/api/v1/conversations/rooms', {
      token: owner.token,
      body: { title, memberIds: [] },
    });
    if (res.status !== 201) throw new Error(`room: ${res.status} ${JSON.stringify(res.body)}`);
    for (const m of new Set(members)) {
      const inv = await call(h.app, 'POST', `/api/v1/conversations/${res.body.id}/invitations`, {
        token: owner.token,
        body: { userId: m.id },
      });
      if (inv.status !== 201) throw new Error(`invite: ${inv.status} ${JSON.stringify(inv.body)}`);
      const acc = await call(h.app, 'POST', `/api/v1/invitations/${inv.body.id}/accept`, { token: m.token });
      if (acc.status !== 200) throw new Error(`accept: ${acc.status} ${JSON.stringify(acc.body)}`);
    }
    const full = await call(h.app, 'GET', `/api/v1/conversations/${res.body.id}`, { token: owner.token });
    return full.body as { id: string; members: Array<{ userId: string; role: string }> };
  };
  const roles = async (id: string, as: TestUser) => {
    const res = await call(h.app, 'GET', `/api/v1/conversations/${id}`, { token: as.token });
    return Object.fromEntries(res.body.members.map((m: { userId: string; role: string }) => [m.userId, m.role]));
  };

  it('creates a room with the caller as owner; validates title, members and the size limit', async () => {
    const [o, a, b, c, d] = await users(5);
    await ensureFriends(o, a);
    await ensureFriends(o, b);
    const created = await call(h.app, 'POST', '/api/v1/conversations/rooms', {
      token: o.token,
      body: { title: 'room', memberIds: [a.id, b.id, a.id] },
    });
    expect(created.status).toBe(201);
    const r = created.body;
    expect(r).toMatchObject({ kind: 'room', title: 'room', lastMessage: null, unreadCount: 0 });
    expect(await roles(r.id, o)).toEqual({ [o.id]: 'owner', [a.id]: 'member', [b.id]: 'member' });
    const post = (body: unknown) => call(h.app, 'POST', '/api/v1/conversations/rooms', { token: o.token, body });
    expect((await post({ title: '', memberIds: [] })).status).toBe(400);
    expect((await post({ title: 'x'.repeat(101), memberIds: [] })).status).toBe(400);
    expect((await post({ title: 'ok', memberIds: ['nope'] })).status).toBe(400);
    expect((await post({ title: 'ok', memberIds: ['00000000-0000-4000-8000-000000000000'] })).status).toBe(404);
    // Limit 4 counts the owner: 4 others is one too many.
    const full = await post({ title: 'big', memberIds: [a.id, b.id, c.id, d.id] });
    expect(full.status).toBe(400);
    expect(full.body.error.code).toBe('VALIDATION');
    expect((await post({ title: 'solo' })).status).toBe(201);
  });

  it('members cannot add or rename; an admin can; the owner appoints admins', async () => {
    const [o, a, m, x, y] = await users(5);
    const r = await room(o, [a, m]);
    const add = (as: TestUser, who: TestUser) =>
      call(h.app, 'POST', `/api/v1/conversations/${r.id}/members`, { token: as.token, body: { userId: who.id } });
    const rename = (as: TestUser, title: string) =>
      call(h.app, 'PATCH', `/api/v1/conversations/${r.id}`, { token: as.token, body: { title } });
    const setRole = (as: TestUser, who: TestUser, role: string) =>
      call(h.app, 'PATCH', `/api/v1/conversations/${r.id}/members/${who.id}`, { token: as.token, body: { role } });

    expect((await add(m, x)).status).toBe(403);
    expect((await rename(m, 'nope')).status).toBe(403);
    expect((await setRole(a, a, 'admin')).status).toBe(403);
    const promoted = await setRole(o, a, 'admin');
    expect(promoted.status).toBe(200);
    expect((await setRole(a, m, 'admin')).status).toBe(403);
    await ensureFriends(a, x);
    const added = await add(a, x);
    expect(added.status).toBe(200);
    expect(added.body.members.map((mm: { userId: string }) => mm.userId)).toContain(x.id);
    expect((await add(a, x)).body.error.code).toBe('CONFLICT');
    // 4 members now: the room is full.
    const full = await add(o, y);
    expect(full.status).toBe(409);
    expect(full.body.error.code).toBe('CONFLICT');
    const renamed = await rename(a, '  New name ');
    expect(renamed.status).toBe(200);
    expect(renamed.body.title).toBe('New name');
    expect((await rename(a, '')).status).toBe(400);
    // The only owner cannot demote themselves.
    expect((await setRole(o, o, 'member')).status).toBe(409);
  });

  it('removal rules: admins remove plain members only, members only themselves', async () => {
    const [o, a1, a2, m] = await users(4);
    const r = await room(o, [a1, a2, m]);
    await call(h.app, 'PATCH', `/api/v1/conversations/${r.id}/members/${a1.id}`, {
      token: o.token,
      body: { role: 'admin' },
    });
    await call(h.app, 'PATCH', `/api/v1/conversations/${r.id}/members/${a2.id}`, {
      token: o.token,
      body: { role: 'admin' },
    });
    const remove = (as: TestUser, who: TestUser) =>
      call(h.app, 'DELETE', `/api/v1/conversations/${r.id}/members/${who.id}`, { token: as.token });
    expect((await remove(m, a1)).status).toBe(403);
    expect((await remove(a1, a2)).status).toBe(403);
    expect((await remove(a1, o)).status).toBe(403);
    expect((await remove(a1, m)).status).toBe(204);
    // A former member no longer sees the room at all.
    expect((await call(h.app, 'GET', `/api/v1/conversations/${r.id}`, { token: m.token })).status).toBe(404);
    expect((await remove(m, m)).status).toBe(404);
    expect((await remove(o, a2)).status).toBe(204);
    expect(await roles(r.id, o)).toEqual({ [o.id]: 'owner', [a1.id]: 'admin' });
  });

  it('the last owner leaving hands ownership to the oldest admin, else the oldest member', async () => {
    const [o, m1, a, m2] = await users(4);
    const r = await room(o, [m1]);
    await ensureFriends(o, a);
    await ensureFriends(o, m2);
    await call(h.app, 'POST', `/api/v1/conversations/${r.id}/members`, { token: o.token, body: { userId: a.id } });
    await call(h.app, 'POST', `/api/v1/conversations/${r.id}/members`, { token: o.token, body: { userId: m2.id } });
    await call(h.app, 'PATCH', `/api/v1/conversations/${r.id}/members/${a.id}`, {
      token: o.token,
      body: { role: 'admin' },
    });
    expect(
      (await call(h.app, 'DELETE', `/api/v1/conversations/${r.id}/members/${o.id}`, { token: o.token })).status,
    ).toBe(204);
    expect(await roles(r.id, a)).toEqual({ [m1.id]: 'member', [a.id]: 'owner', [m2.id]: 'member' });
    expect(
      (await call(h.app, 'DELETE', `/api/v1/conversations/${r.id}/members/${a.id}`, { token: a.token })).status,
    ).toBe(204);
    // No admin left: the member who joined first (m1, at creation) becomes owner.
    expect(await roles(r.id, m1)).toEqual({ [m1.id]: 'owner', [m2.id]: 'member' });
  });

  it('records what happens in a room as history entries (message.created of kind "event") in the outbox, in order', async () => {
    const [o, a, b] = await users(3);
    const r = await room(o, [a], 'first'); // a joins by accepting an invitation
    await ensureFriends(o, b); // b, a friend, is added directly
    await call(h.app, 'POST', `/api/v1/conversations/${r.id}/members`, { token: o.token, body: { userId: b.id } });
    await call(h.app, 'PATCH', `/api/v1/conversations/${r.id}`, { token: o.token, body: { title: 'second' } });
    await call(h.app, 'PATCH', `/api/v1/conversations/${r.id}`, { token: o.token, body: { title: 'second' } });
    await call(h.app, 'DELETE', `/api/v1/conversations/${r.id}/members/${b.id}`, { token: o.token });
    await call(h.app, 'DELETE', `/api/v1/conversations/${r.id}/members/${o.id}`, { token: o.token });
    await call(h.app, 'DELETE', `/api/v1/conversations/${r.id}/members/${a.id}`, { token: o.token });
    const rows = (
      await h.database.pool.query(
        "select payload from accounts.outbox where type = 'message.created' and payload->>'conversationId' = $1 order by seq",
        [r.id],
      )
    ).rows;
    const entries = rows.map(
      (x: { payload: { id: string; senderId: string; kind: string; event: unknown; body?: string } }) => x.payload,
    );
    const [on, an, bn] = [o, a, b].map((u) => u.username);
    expect(entries.map((e) => [e.senderId, e.event])).toEqual([
      [o.id, { type: 'created', title: 'first', actorName: on }],
      [a.id, { type: 'joined', userId: a.id, actorName: an, userName: an }],
      [o.id, { type: 'joined', userId: b.id, actorName: on, userName: bn }],
      [o.id, { type: 'renamed', title: 'second', actorName: on }],
      [o.id, { type: 'removed', userId: b.id, actorName: on, userName: bn }],
      [o.id, { type: 'left', userId: o.id, actorName: on, userName: on }],
      [o.id, { type: 'owner_changed', userId: a.id, actorName: on, userName: an }],
    ]);
    expect(entries.every((e) => e.kind === 'event' && e.body === undefined)).toBe(true);
    // Ids sort in the order things happened, like message ids.
    expect(entries.map((e) => e.id)).toEqual(entries.map((e) => e.id).sort());
    // A refused change records nothing.
    expect(rows.length).toBe(7);
  });

  it('non-members get NOT_FOUND for every conversation route; direct conversations cannot be changed', async () => {
    const [o, a, stranger] = await users(3);
    const r = await room(o, [a]);
    const direct = await befriend(h.app, o, a);
    for (const [method, url, body] of [
      ['GET', `/api/v1/conversations/${r.id}`, undefined],
      ['PATCH', `/api/v1/conversations/${r.id}`, { title: 'mine' }],
      ['POST', `/api/v1/conversations/${r.id}/members`, { userId: stranger.id }],
      ['DELETE', `/api/v1/conversations/${r.id}/members/${a.id}`, undefined],
      ['PATCH', `/api/v1/conversations/${r.id}/members/${a.id}`, { role: 'admin' }],
      ['GET', `/api/v1/conversations/${direct}`, undefined],
      ['GET', '/api/v1/conversations/00000000-0000-4000-8000-000000000000', undefined],
    ] as const) {
      const res = await call(h.app, method, url, { token: stranger.token, body });
      expect([method, url, res.status, res.body.error.code]).toEqual([method, url, 404, 'NOT_FOUND']);
    }
    expect(
      (await call(h.app, 'PATCH', `/api/v1/conversations/${direct}`, { token: o.token, body: { title: 'x' } })).status,
    ).toBe(403);
    expect(
      (
        await call(h.app, 'POST', `/api/v1/conversations/${direct}/members`, {
          token: o.token,
          body: { userId: stranger.id },
        })
      ).status,
    ).toBe(403);
    expect(
      (await call(h.app, 'DELETE', `/api/v1/conversations/${direct}/members/${o.id}`, { token: o.token })).status,
    ).toBe(403);
    expect((await call(h.app, 'GET', '/api/v1/conversations', { token: stranger.token })).body).toEqual([]);
  });

  it('searches users by username (prefix first, then contains, @ ignored), case-insensitively, at most 20, wildcards literal', async () => {
    const prefix = `s${Date.now() % 100000}`;
    for (let i = 0; i < 22; i++) await registerUser(h.app, `${prefix}_${String(i).padStart(2, '0')}`);
    const [me] = await users(1);
    const res = await call(h.app, 'GET', `/api/v1/users?q=${prefix.toUpperCase()}_`, { token: me.token });
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(20);
    expect(res.body[0]).toEqual({
      id: expect.any(String),
      username: `${prefix}_00`,
      displayName: `${prefix}_00`,
      createdAt: expect.any(String),
    });
    expect(res.body[0]).not.toHaveProperty('passwordHash');
    expect((await call(h.app, 'GET', `/api/v1/users?q=${prefix}%25`, { token: me.token })).body).toEqual([]);
    expect((await call(h.app, 'GET', `/api/v1/users?q=${prefix.slice(0, 3)}_`, { token: me.token })).body).toEqual([]);
    // "@name" and a part from the middle find them too; prefix matches come first.
    expect(
      (await call(h.app, 'GET', `/api/v1/users?q=%40${prefix}_01`, { token: me.token })).body.map(
        (u: { username: string }) => u.username,
      ),
    ).toEqual([`${prefix}_01`]);
    const middle = await registerUser(h.app, `x${prefix}_mid`);
    const inner = (await call(h.app, 'GET', `/api/v1/users?q=${prefix.slice(1)}_0`, { token: me.token })).body.map(
      (u: { username: string }) => u.username,
    );
    expect(inner.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => `${prefix}_0${i}`));
    expect(
      (await call(h.app, 'GET', `/api/v1/users?q=${prefix}_mid`, { token: me.token })).body.map(
        (u: { id: string }) => u.id,
      ),
    ).toEqual([middle.id]);
    expect((await call(h.app, 'GET', '/api/v1/users?q=', { token: me.token })).status).toBe(400);
    expect((await call(h.app, 'GET', '/api/v1/users', { token: me.token })).status).toBe(400);
  });

  it('presence answers for friends and co-members only', async () => {
    const [me, friend, roomie, stranger] = await users(4);
    await befriend(h.app, me, friend);
    await room(me, [roomie]);
    const res = await call(h.app, 'GET', `/api/v1/presence?userIds=${[friend.id, roomie.id, stranger.id].join(',')}`, {
      token: me.token,
    });
    expect(res.status).toBe(200);
    expect(res.body.map((p: { userId: string }) => p.userId).sort()).toEqual([friend.id, roomie.id].sort());
    expect(res.body[0]).toEqual({ userId: expect.any(String), online: false, lastSeenAt: null });
    expect((await call(h.app, 'GET', '/api/v1/presence?userIds=nope', { token: me.token })).status).toBe(400);
  });

  it('stores device public keys and serves them per user', async () => {
    const [me, other] = await users(2);
    const put = (deviceId: string, body: unknown) =>
      call(h.app, 'PUT', `/api/v1/keys/devices/${deviceId}`, { token: me.token, body });
    const res = await put('laptop-1', { publicKey: 'AAECAw==', algorithm: 'x25519' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ deviceId: 'laptop-1', userId: me.id, publicKey: 'AAECAw==', algorithm: 'x25519' });
    expect((await put('laptop-1', { publicKey: 'BBBB' })).body).toMatchObject({ publicKey: 'BBBB', algorithm: null });
    expect((await put('phone', { publicKey: 'CCCC' })).status).toBe(200);
    expect((await put('bad device', { publicKey: 'CCCC' })).status).toBe(400);
    expect((await put('phone', { publicKey: 'not base64!' })).status).toBe(400);
    expect((await put('phone', { publicKey: 'A'.repeat(1025) })).status).toBe(400);
    expect((await put('phone', { publicKey: 'AAAA', private: 'x' })).status).toBe(400);
    const list = await call(h.app, 'GET', `/api/v1/users/${me.id}/devices`, { token: other.token });
    expect(list.body.map((d: { deviceId: string; publicKey: string }) => [d.deviceId, d.publicKey])).toEqual([
      ['laptop-1', 'BBBB'],
      ['phone', 'CCCC'],
    ]);
    expect(
      (await call(h.app, 'GET', '/api/v1/users/00000000-0000-4000-8000-000000000000/devices', { token: other.token }))
        .status,
    ).toBe(404);
    expect((await call(h.app, 'PUT', '/api/v1/keys/devices/x', { body: { publicKey: 'AAAA' } })).status).toBe(401);
  });

  it('internal routes: conversation members and sendable, contacts, conversation ids', async () => {
    const [a, b, c] = await users(3);
    const direct = await befriend(h.app, a, b);
    const r = await room(a, [c]);
    const conv = await call(h.app, 'GET', `/internal/v1/conversations/${r.id}`);
    expect(conv.body).toEqual({
      id: r.id,
      kind: 'room',
      title: 'room',
      createdAt: expect.any(String),
      members: expect.arrayContaining([
        { userId: a.id, role: 'owner' },
        { userId: c.id, role: 'member' },
      ]),
      sendable: true,
      encrypted: false,
    });
    expect((await call(h.app, 'GET', `/internal/v1/conversations/${direct}`)).body.sendable).toBe(true);
    expect((await call(h.app, 'GET', '/internal/v1/conversations/00000000-0000-4000-8000-000000000000')).status).toBe(
      404,
    );
    expect((await call(h.app, 'GET', `/internal/v1/users/${a.id}/contacts`)).body).toEqual({
      userIds: [b.id, c.id].sort(),
    });
    expect((await call(h.app, 'GET', `/internal/v1/users/${c.id}/contacts`)).body).toEqual({ userIds: [a.id] });
    expect((await call(h.app, 'GET', `/internal/v1/users/${a.id}/conversations`)).body.conversationIds.sort()).toEqual(
      [direct, r.id].sort(),
    );
    expect((await call(h.app, 'GET', '/internal/v1/users/nope/conversations')).status).toBe(400);
  });

  it('pushes presence to co-members of small conversations only; big rooms are asked, not pushed', async () => {
    const [a, b, c, d] = await users(4);
    await befriend(h.app, a, b);
    await room(a, [b, c, d]); // 4 members: over PRESENCE_FANOUT_MAX_ROOM (3)
    expect((await call(h.app, 'GET', `/internal/v1/users/${a.id}/contacts`)).body).toEqual({ userIds: [b.id] });
    expect((await call(h.app, 'GET', `/internal/v1/users/${c.id}/contacts`)).body).toEqual({ userIds: [] });
    // The batch form answers the same for many users in one call.
    const batch = await call(h.app, 'POST', '/internal/v1/contacts', { body: { userIds: [a.id, c.id, a.id] } });
    expect(batch.body).toEqual({ contacts: { [a.id]: [b.id], [c.id]: [] } });
    expect((await call(h.app, 'POST', '/internal/v1/contacts', { body: { userIds: [] } })).status).toBe(400);
    // Still visible when asked: co-members of any size may read each other's presence.
    const asked = await call(h.app, 'GET', `/api/v1/presence?userIds=${c.id},${d.id}`, { token: a.token });
    expect(asked.body.map((p: { userId: string }) => p.userId).sort()).toEqual([c.id, d.id].sort());
  });

  describe('conversation list enriched by persistence', () => {
    let server: Server;
    const seen: Array<{ userId: string; conversationIds: string[] }> = [];
    let answer: (ids: string[]) => unknown = () => ({ summaries: {} });

    beforeAll(async () => {
      // Persistence is another team's service: a stand-in that records what it was asked.
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          const parsed = JSON.parse(body);
          seen.push(parsed);
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(answer(parsed.conversationIds)));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('fills lastMessage, unreadCount and read markers in one call and orders by latest activity', async () => {
      const port = (server.address() as AddressInfo).port;
      const other = await h.another({ PERSISTENCE_URL: `http://127.0.0.1:${port}` });
      const [me, f1, f2] = await users(3);
      const d1 = await befriend(h.app, me, f1);
      const d2 = await befriend(h.app, me, f2);
      const r = await room(me, [f1]);
      const msg = (conversationId: string, at: string) => ({
        id: '01JD0000000000000000000000',
        conversationId,
        senderId: f1.id,
        clientMsgId: '5b3c1c9e-3f7e-4c1a-9f4b-2d7f0f1a2b3c',
        createdAt: at,
        kind: 'text',
        body: 'hi',
      });
      answer = () => ({
        summaries: {
          [d1]: {
            lastMessage: msg(d1, '2030-01-01T00:00:00.000Z'),
            unreadCount: 3,
            lastActivityAt: '2030-01-01T00:00:00.000Z',
            readMarkers: { [me.id]: '01JD0000000000000000000000' },
          },
          [d2]: { lastMessage: null, unreadCount: 0, lastActivityAt: null, readMarkers: {} },
        },
      });
      seen.length = 0;
      const res = await call(other.app, 'GET', '/api/v1/conversations', { token: me.token });
      expect(res.status).toBe(200);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.conversationIds.sort()).toEqual([d1, d2, r.id].sort());
      expect(res.body.map((c: { id: string }) => c.id)).toEqual([d1, r.id, d2]);
      expect(res.body[0]).toMatchObject({ unreadCount: 3, lastMessage: { body: 'hi' } });
      expect(res.body[0].members.find((m: { userId: string }) => m.userId === me.id).lastReadMessageId).toBe(
        '01JD0000000000000000000000',
      );
    });

    it('answers with lastMessage null and unreadCount 0 when persistence is unreachable or answers garbage', async () => {
      const down = await buildAccounts({
        dbUrl: h.tdb.url,
        amqpUrl: h.vhost.url,
        keys: h.keys,
        env: { PERSISTENCE_URL: `http://127.0.0.1:${await freePort()}` },
      });
      try {
        const [me, f] = await users(2);
        const d = await befriend(h.app, me, f);
        const res = await call(down.app, 'GET', '/api/v1/conversations', { token: me.token });
        expect(res.status).toBe(200);
        expect(res.body).toEqual([expect.objectContaining({ id: d, lastMessage: null, unreadCount: 0 })]);
        const port = (server.address() as AddressInfo).port;
        const garbage = await h.another({ PERSISTENCE_URL: `http://127.0.0.1:${port}` });
        answer = () => ({ summaries: 'nope' });
        expect((await call(garbage.app, 'GET', '/api/v1/conversations', { token: me.token })).body[0]).toMatchObject({
          lastMessage: null,
          unreadCount: 0,
        });
      } finally {
        await down.close();
      }
    });
  });
});
