import type { Envelope, Presence } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { call, befriend, registerUsers, startHarness, tapEvents, type Harness } from './harness';

/**
 * Accounts decides presence from gateway reports and heartbeats published on the real broker; the
 * transitions come out on chat.events through the outbox. Short grace and sweep for test time.
 */
describe('presence decided from gateway reports', () => {
  let h: Harness;
  let tap: Awaited<ReturnType<typeof tapEvents>>;
  beforeAll(async () => {
    // A reported session outlives any test here (a loaded machine must not see it expire between a report and
    // the checks after it); expiry is tested with heartbeats, whose interval each test chooses.
    // The grace (1 s) must outlast the gap between processing a flapping offline report and the online
    // after it: one confirmed publish, which a loaded machine can stretch past 400 ms.
    h = await startHarness({ PRESENCE_SESSION_TTL_MS: '60000', PRESENCE_GRACE_MS: '1000', PRESENCE_SWEEP_MS: '50' });
    tap = await tapEvents(h.vhost.url);
  });
  afterAll(async () => {
    await tap.close();
    await h.close();
  });

  const changes = (userId: string) =>
    tap.events
      .filter(
        (e): e is Envelope<'presence.changed'> =>
          e.type === 'presence.changed' && (e.payload as Presence).userId === userId,
      )
      .map((e) => e.payload);
  const report = (gatewayId: string, userId: string, online: boolean) =>
    h.broker.publish('presence.reported', { gatewayId, userId, online });
  const heartbeat = (gatewayId: string, userIds: string[], intervalMs = 200) =>
    h.broker.publish('gateway.heartbeat', { gatewayId, userIds, intervalMs });
  const stored = async (userId: string) =>
    (
      await h.database.pool.query(
        'select online, last_seen_at, offline_pending_since from accounts.presence where user_id = $1',
        [userId],
      )
    ).rows[0];

  it('one event when the first gateway reports a user, none for a second, offline after the last goes and the grace', async () => {
    const [a, b] = await registerUsers(h.app, 2);
    await befriend(h.app, a, b);
    await report('gw1', a.id, true);
    await waitFor(() => changes(a.id).length === 1, 15_000, 'online');
    expect(changes(a.id)[0]).toEqual({ userId: a.id, online: true, lastSeenAt: null });
    await report('gw2', a.id, true);
    await report('gw1', a.id, false);
    // The friend sees it through the API too.
    const friends = await call(h.app, 'GET', '/api/v1/friends', { token: b.token });
    expect(friends.body[0]).toMatchObject({ user: { id: a.id }, online: true, lastSeenAt: null });
    const wentAt = Date.now();
    await report('gw2', a.id, false);
    await waitFor(() => changes(a.id).length === 2, 15_000, 'offline');
    expect(Date.now() - wentAt).toBeGreaterThanOrEqual(950);
    const off = changes(a.id)[1]!;
    expect(off).toMatchObject({ userId: a.id, online: false, lastSeenAt: expect.any(String) });
    const presence = await call(h.app, 'GET', `/api/v1/presence?userIds=${a.id}`, { token: b.token });
    expect(presence.body).toEqual([off]);
    expect((await call(h.app, 'GET', '/api/v1/friends', { token: b.token })).body[0]).toMatchObject({
      online: false,
      lastSeenAt: off.lastSeenAt,
    });
  });

  it('coalesces flapping: a reconnect loop inside the grace makes no events', async () => {
    const [a, sentinel] = await registerUsers(h.app, 2);
    await report('gw1', a.id, true);
    await waitFor(() => changes(a.id).length === 1, 15_000, 'online');
    for (let i = 0; i < 20; i++) {
      await report('gw1', a.id, false);
      await report('gw1', a.id, true);
    }
    // The gateway's heartbeat lists the user: the session lives on whatever the reports did.
    await heartbeat('gw1', [a.id], 10_000);
    // Reports are applied in queue order: once the sentinel's (published last) is announced, every report
    // above has been applied (on a loaded machine they may still be queued when a's row first reads clean).
    await report('gw1', sentinel.id, true);
    await waitFor(() => changes(sentinel.id).length === 1, 15_000, 'the sentinel online');
    await waitFor(async () => (await stored(a.id))?.offline_pending_since === null, 15_000, 'no pending offline');
    // Long enough for the grace to have ended twice over, had any offline been left pending.
    await new Promise((r) => setTimeout(r, 2_100));
    expect(changes(a.id)).toHaveLength(1);
    expect(await stored(a.id)).toMatchObject({ online: true, offline_pending_since: null });
  });

  it('expires a gateway that stops reporting: its users go offline, those on a live gateway stay', async () => {
    const [a, b] = await registerUsers(h.app, 2);
    const lastHeartbeat = Date.now();
    await heartbeat('dying', [a.id, b.id]);
    // "alive" announces a long interval: a stalled test process (a loaded machine) must not let it expire.
    await heartbeat('alive', [b.id], 10_000);
    // At least one: a's session lives 500 ms, and a slow outbox relay may announce online and offline together.
    await waitFor(() => changes(a.id).length >= 1 && changes(b.id).length === 1, 15_000, 'both online');
    // "alive" keeps heartbeating; "dying" never reports again.
    const timer = setInterval(() => void heartbeat('alive', [b.id], 10_000).catch(() => undefined), 150);
    try {
      await waitFor(() => changes(a.id).length >= 2, 20_000, 'a offline after expiry');
      const took = Date.now() - lastHeartbeat;
      expect(changes(a.id).map((p) => p.online)).toEqual([true, false]);
      // 2.5 heartbeats (500 ms) + a sweep: well inside the bound, and not before the sessions expired.
      expect(took).toBeGreaterThanOrEqual(500);
      // Upper bound generous for a loaded machine, and still a third of the 60 s PRESENCE_SESSION_TTL_MS
      // a report would give: the heartbeat's own interval is what expired it.
      expect(took).toBeLessThan(20_000);
      await new Promise((r) => setTimeout(r, 600));
      expect(changes(b.id)).toHaveLength(1);
    } finally {
      clearInterval(timer);
    }
  });

  it('a heartbeat is the full list: users it no longer lists lose that session', async () => {
    const [a] = await registerUsers(h.app, 1);
    await heartbeat('gw9', [a.id], 10_000);
    await waitFor(() => changes(a.id).length === 1, 15_000, 'online');
    await heartbeat('gw9', [], 10_000);
    await waitFor(() => changes(a.id).length === 2, 15_000, 'offline (missed offline report repaired)');
    expect(changes(a.id)[1]!.online).toBe(false);
  });

  it('two accounts instances never both announce one transition', async () => {
    const other = await h.another({
      PRESENCE_SESSION_TTL_MS: '60000',
      PRESENCE_GRACE_MS: '1000',
      PRESENCE_SWEEP_MS: '50',
    });
    const users = await registerUsers(h.app, 6);
    for (const u of users) await report('gwx', u.id, true);
    await waitFor(() => users.every((u) => changes(u.id).length === 1), 15_000, 'all online');
    for (const u of users) await report('gwx', u.id, false);
    await waitFor(() => users.every((u) => changes(u.id).length === 2), 15_000, 'all offline');
    await new Promise((r) => setTimeout(r, 500));
    expect(users.map((u) => changes(u.id).map((p: Presence) => p.online))).toEqual(users.map(() => [true, false]));
    expect(other).toBeDefined();
  });

  it('shows presence only to friends and co-members, and refuses bad input', async () => {
    const [a, b, stranger] = await registerUsers(h.app, 3);
    await befriend(h.app, a, b);
    await report('gw-long', a.id, true);
    // A heartbeat announcing a long interval keeps the session alive however slow the machine.
    await heartbeat('gw-long', [a.id], 60_000);
    await waitFor(() => changes(a.id).length === 1, 15_000, 'online');
    expect((await call(h.app, 'GET', `/api/v1/presence?userIds=${a.id}`, { token: stranger.token })).body).toEqual([]);
    expect(
      (await call(h.app, 'GET', `/api/v1/presence?userIds=${a.id},${stranger.id}`, { token: b.token })).body,
    ).toEqual([{ userId: a.id, online: true, lastSeenAt: null }]);
    expect((await call(h.app, 'GET', '/api/v1/presence?userIds=nope', { token: b.token })).body).toMatchObject({
      error: { code: 'VALIDATION' },
    });
  });

  it('asking back a user who asked you returns them as a friend with their real presence', async () => {
    const [a, b] = await registerUsers(h.app, 2);
    await report('gw-long', a.id, true);
    await heartbeat('gw-long', [a.id], 60_000);
    await waitFor(async () => (await stored(a.id))?.online === true, 15_000, 'online');
    expect(
      (await call(h.app, 'POST', '/api/v1/friends/requests', { token: a.token, body: { username: b.username } }))
        .status,
    ).toBe(201);
    const back = await call(h.app, 'POST', '/api/v1/friends/requests', {
      token: b.token,
      body: { username: a.username },
    });
    expect(back).toMatchObject({ status: 200, body: { user: { id: a.id }, online: true } });
  });

  it('a blocked user no longer sees the blocker: blocking separates their shared rooms (docs/api.md, Blocks)', async () => {
    const [a, b, c] = await registerUsers(h.app, 3);
    await befriend(h.app, a, b);
    await befriend(h.app, c, a);
    await befriend(h.app, c, b);
    expect(
      (
        await call(h.app, 'POST', '/api/v1/conversations/rooms', {
          token: c.token,
          body: { title: 'shared', memberIds: [a.id, b.id] },
        })
      ).status,
    ).toBe(201);
    const contacts = async (id: string) => (await call(h.app, 'GET', `/internal/v1/users/${id}/contacts`)).body;
    expect((await contacts(a.id)).userIds).toEqual([b.id, c.id].sort());
    expect((await call(h.app, 'POST', '/api/v1/blocks', { token: a.token, body: { userId: b.id } })).status).toBe(204);
    const seenBy = (await call(h.app, 'POST', '/internal/v1/contacts', { body: { userIds: [a.id, b.id] } })).body
      .contacts;
    expect(seenBy[a.id]).toEqual([c.id]);
    expect(seenBy[b.id]).toEqual([c.id]);
    await report('gw1', a.id, true);
    await waitFor(() => changes(a.id).length === 1, 15_000, 'online');
    expect((await call(h.app, 'GET', `/api/v1/presence?userIds=${a.id}`, { token: b.token })).body).toEqual([]);
    expect((await call(h.app, 'GET', `/api/v1/presence?userIds=${a.id}`, { token: c.token })).body).toEqual([
      { userId: a.id, online: true, lastSeenAt: null },
    ]);
    // Unblocking restores what co-members of their (still existing) direct conversation see; not the room.
    expect((await call(h.app, 'DELETE', `/api/v1/blocks/${b.id}`, { token: a.token })).status).toBe(204);
    expect((await call(h.app, 'GET', `/api/v1/presence?userIds=${a.id}`, { token: b.token })).body).toEqual([
      { userId: a.id, online: true, lastSeenAt: null },
    ]);
  });
});
