/**
 * Joining a room takes consent (friends are added directly, anyone else is invited and accepts), and
 * a blocked user reaches the blocker nowhere: not in a room someone else made, not by adding them.
 */
import { waitFor } from '@chat/testkit';
import { befriend, call, registerUsers, startHarness, tapEvents, type Harness, type TestUser } from './harness';

describe('room consent and blocks across rooms', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const createRoom = (as: TestUser, members: TestUser[]) =>
    call(h.app, 'POST', '/api/v1/conversations/rooms', {
      token: as.token,
      body: { title: 'room', memberIds: members.map((m) => m.id) },
    });
  const add = (as: TestUser, roomId: string, who: TestUser) =>
    call(h.app, 'POST', `/api/v1/conversations/${roomId}/members`, { token: as.token, body: { userId: who.id } });
  const invite = (as: TestUser, roomId: string, who: TestUser) =>
    call(h.app, 'POST', `/api/v1/conversations/${roomId}/invitations`, { token: as.token, body: { userId: who.id } });
  const members = async (roomId: string, as: TestUser) =>
    ((await call(h.app, 'GET', `/api/v1/conversations/${roomId}`, { token: as.token })).body.members ?? [])
      .map((m: { userId: string }) => m.userId)
      .sort();
  const presence = async (as: TestUser, of: TestUser) =>
    (await call(h.app, 'GET', `/api/v1/presence?userIds=${of.id}`, { token: as.token })).body as unknown[];

  it('refuses to put a stranger in a room directly, so nobody can read their presence without consent', async () => {
    const [owner, stranger] = await registerUsers(h.app, 2);
    const refused = await createRoom(owner, [stranger]);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    const room = await createRoom(owner, []);
    expect((await add(owner, room.body.id, stranger)).status).toBe(403);
    expect(await members(room.body.id, owner)).toEqual([owner.id]);
    expect(await presence(owner, stranger)).toEqual([]);
  });

  it('a stranger joins only by accepting an invitation; declined or cancelled ones change nothing', async () => {
    const [owner, guest, other] = await registerUsers(h.app, 3);
    const tap = await tapEvents(h.vhost.url);
    try {
      const room = (await createRoom(owner, [])).body;
      const inv = await invite(owner, room.id, guest);
      expect(inv.status).toBe(201);
      expect(inv.body).toMatchObject({
        conversation: { id: room.id, title: 'room' },
        from: { id: owner.id },
        to: { id: guest.id },
      });
      expect((await invite(owner, room.id, guest)).status).toBe(409);
      // Not a member yet: no presence, no room.
      expect(await presence(owner, guest)).toEqual([]);
      expect((await call(h.app, 'GET', `/api/v1/conversations/${room.id}`, { token: guest.token })).status).toBe(404);
      const list = await call(h.app, 'GET', '/api/v1/invitations', { token: guest.token });
      expect(list.body).toEqual({ incoming: [inv.body], outgoing: [] });
      expect((await call(h.app, 'GET', '/api/v1/invitations', { token: owner.token })).body).toEqual({
        incoming: [],
        outgoing: [inv.body],
      });
      // Only the invitee accepts or declines; only the inviter cancels.
      expect(
        (await call(h.app, 'POST', `/api/v1/invitations/${inv.body.id}/accept`, { token: other.token })).status,
      ).toBe(404);
      expect((await call(h.app, 'DELETE', `/api/v1/invitations/${inv.body.id}`, { token: guest.token })).status).toBe(
        404,
      );
      const joined = await call(h.app, 'POST', `/api/v1/invitations/${inv.body.id}/accept`, { token: guest.token });
      expect(joined.status).toBe(200);
      expect(joined.body.members.map((m: { userId: string }) => m.userId).sort()).toEqual([owner.id, guest.id].sort());
      expect(
        (await call(h.app, 'POST', `/api/v1/invitations/${inv.body.id}/accept`, { token: guest.token })).status,
      ).toBe(404);
      expect(await presence(owner, guest)).toHaveLength(1);

      const declined = await invite(owner, room.id, other);
      expect(
        (await call(h.app, 'POST', `/api/v1/invitations/${declined.body.id}/decline`, { token: other.token })).status,
      ).toBe(204);
      const cancelled = await invite(owner, room.id, other);
      expect(
        (await call(h.app, 'DELETE', `/api/v1/invitations/${cancelled.body.id}`, { token: owner.token })).status,
      ).toBe(204);
      expect(await members(room.id, owner)).toEqual([owner.id, guest.id].sort());
      // Both sides hear of every change (the socket's `invitation` event).
      const invitationEvents = () =>
        tap.events
          .filter((e) => e.type === 'invitation.changed')
          .map((e) => e.payload as { userIds: string[]; event: { type: string } });
      await waitFor(() => invitationEvents().length === 6, 15_000, 'invitation events');
      expect(invitationEvents().map((e) => e.event.type)).toEqual([
        'created',
        'accepted',
        'created',
        'declined',
        'created',
        'cancelled',
      ]);
      expect(invitationEvents()[0]!.userIds.sort()).toEqual([owner.id, guest.id].sort());
    } finally {
      await tap.close();
    }
  });

  it('a friend is still added directly, and a plain member cannot invite', async () => {
    const [owner, friend, member, stranger] = await registerUsers(h.app, 4);
    await befriend(h.app, owner, friend);
    await befriend(h.app, owner, member);
    const room = (await createRoom(owner, [friend])).body;
    expect((await add(owner, room.id, member)).status).toBe(200);
    expect((await invite(member, room.id, stranger)).status).toBe(403);
  });

  it('a third person cannot put a blocked pair in one room, by creating, adding or inviting', async () => {
    const [carol, alice, bob] = await registerUsers(h.app, 3);
    await befriend(h.app, carol, alice);
    await befriend(h.app, carol, bob);
    expect((await call(h.app, 'POST', '/api/v1/blocks', { token: alice.token, body: { userId: bob.id } })).status).toBe(
      204,
    );
    const both = await createRoom(carol, [alice, bob]);
    expect(both.status).toBe(403);
    expect(both.body.error.message).not.toMatch(/block/i);
    const room = (await createRoom(carol, [alice])).body;
    expect((await add(carol, room.id, bob)).status).toBe(403);
    expect((await invite(carol, room.id, bob)).status).toBe(403);
    // The blocked user cannot bring the blocker in either.
    const bobs = (await createRoom(bob, [])).body;
    expect((await invite(bob, bobs.id, alice)).status).toBe(403);
    expect(await members(room.id, carol)).toEqual([carol.id, alice.id].sort());
  });

  it('an invitation accepted after a block between the invitee and a member is refused', async () => {
    const [carol, alice, bob] = await registerUsers(h.app, 3);
    const room = (await createRoom(carol, [])).body;
    const a = await invite(carol, room.id, alice);
    const b = await invite(carol, room.id, bob);
    expect((await call(h.app, 'POST', `/api/v1/invitations/${a.body.id}/accept`, { token: alice.token })).status).toBe(
      200,
    );
    expect((await call(h.app, 'POST', '/api/v1/blocks', { token: alice.token, body: { userId: bob.id } })).status).toBe(
      204,
    );
    expect((await call(h.app, 'POST', `/api/v1/invitations/${b.body.id}/accept`, { token: bob.token })).status).toBe(
      403,
    );
    expect(await members(room.id, carol)).toEqual([carol.id, alice.id].sort());
  });

  it('blocking separates the pair in rooms they already share: the blocked user goes where the blocker could remove them, else the blocker leaves', async () => {
    const [alice, bob, carol] = await registerUsers(h.app, 3);
    // Alice owns one room with bob in it; carol owns another with both.
    const mine = (await createRoom(alice, [])).body;
    const theirs = (await createRoom(carol, [])).body;
    for (const [as, roomId, who] of [
      [alice, mine.id, bob],
      [carol, theirs.id, alice],
      [carol, theirs.id, bob],
    ] as const) {
      const inv = await invite(as, roomId, who);
      expect(
        (await call(h.app, 'POST', `/api/v1/invitations/${inv.body.id}/accept`, { token: who.token })).status,
      ).toBe(200);
    }
    const pending = await invite(bob, (await createRoom(bob, [])).body.id, alice);
    expect(pending.status).toBe(201);
    expect((await call(h.app, 'POST', '/api/v1/blocks', { token: alice.token, body: { userId: bob.id } })).status).toBe(
      204,
    );
    expect(await members(mine.id, alice)).toEqual([alice.id]);
    expect(await members(theirs.id, carol)).toEqual([carol.id, bob.id].sort());
    // They share no conversation that takes messages, and see no presence of each other.
    expect(await presence(bob, alice)).toEqual([]);
    expect(await presence(alice, bob)).toEqual([]);
    expect((await call(h.app, 'GET', '/api/v1/invitations', { token: alice.token })).body.incoming).toEqual([]);
  });
});
