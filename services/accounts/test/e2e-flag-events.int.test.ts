/**
 * Every `conversation.changed` says whether the conversation is end-to-end encrypted, and switching
 * encryption on publishes one (`updated`, `encrypted: true`) through the outbox, in the switch's
 * transaction: the gateways' membership caches take the flag from the events instead of asking.
 */
import type { EventPayload } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { befriend, call, registerUsers, startHarness, tapEvents, type Harness } from './harness';

describe('the encryption flag on conversation.changed', () => {
  let h: Harness;
  let tap: Awaited<ReturnType<typeof tapEvents>>;
  beforeAll(async () => {
    h = await startHarness();
    tap = await tapEvents(h.vhost.url);
  });
  afterAll(async () => {
    await tap.close();
    await h.close();
  });

  const changes = (conversationId: string) =>
    tap.events
      .filter((e) => e.type === 'conversation.changed')
      .map((e) => e.payload as EventPayload<'conversation.changed'>)
      .filter((p) => p.conversation.id === conversationId);
  const encrypt = (token: string, id: string) => call(h.app, 'POST', `/api/v1/e2e/groups/${id}`, { token });

  it('a new conversation is announced not encrypted; switching encryption on is announced once, to every member', async () => {
    const [a, b, c] = await registerUsers(h.app, 3);
    const direct = await befriend(h.app, a, b);
    await waitFor(() => changes(direct).length === 1, 10_000, "the direct conversation's created event");
    expect(changes(direct)[0]).toMatchObject({ type: 'created', encrypted: false });

    // A stranger is refused and nothing is published; the member's switch is.
    expect((await encrypt(c.token, direct)).status).toBe(404);
    expect((await encrypt(a.token, direct)).status).toBe(201);
    await waitFor(() => changes(direct).length === 2, 10_000, 'the switch');
    const on = changes(direct)[1]!;
    expect(on).toMatchObject({ type: 'updated', encrypted: true, removedUserIds: [] });
    expect(on.memberIds.sort()).toEqual([a.id, b.id].sort());

    // Already encrypted: 409, and no second event (a later one proves the first would have arrived).
    expect((await encrypt(b.token, direct)).status).toBe(409);
    const marker = await befriend(h.app, a, c);
    await waitFor(() => changes(marker).length === 1, 10_000, 'a later event');
    expect(changes(direct)).toHaveLength(2);
  });

  it("a room's membership changes carry the flag as it is when they commit", async () => {
    const [a, b, c] = await registerUsers(h.app, 3);
    await befriend(h.app, a, b);
    await befriend(h.app, a, c);
    const made = await call(h.app, 'POST', '/api/v1/conversations/rooms', {
      token: a.token,
      body: { title: 'flag', memberIds: [b.id] },
    });
    expect(made.status).toBe(201);
    const room: string = made.body.id;
    expect((await encrypt(a.token, room)).status).toBe(201);
    const added = await call(h.app, 'POST', `/api/v1/conversations/${room}/members`, {
      token: a.token,
      body: { userId: c.id },
    });
    expect(added.status).toBe(200);
    await waitFor(() => changes(room).length === 3, 10_000, "the room's three events");
    expect(changes(room).map((p) => [p.type, p.encrypted])).toEqual([
      ['created', false],
      ['updated', true],
      ['member_added', true],
    ]);
  });
});
