/**
 * The membership client against a real HTTP stand-in for accounts (testkit's fake accounts): what it
 * asks accounts for, and what it answers without asking.
 */
import { randomUUID } from 'node:crypto';
import { silentLogger } from '@chat/logger';
import { startFakeAccounts, waitFor, type FakeAccounts } from '@chat/testkit';
import { MembershipClient } from './membership.client';

let accounts: FakeAccounts;

beforeAll(async () => {
  accounts = await startFakeAccounts();
});
afterAll(async () => accounts.close());

const client = (ttlMs = 60_000) =>
  new MembershipClient({ accountsUrl: accounts.url, logger: silentLogger(), max: 100, ttlMs, timeoutMs: 5_000 });
const lookupsOf = (id: string) => accounts.lookups.filter((p) => p.includes(id)).length;

/** A direct conversation's event; without `encrypted`, as an older accounts published it. */
function createdDirect(
  id: string,
  memberIds: string[],
  flag: { encrypted?: boolean } = {},
  type: 'created' | 'updated' = 'created',
) {
  return {
    type,
    conversation: { id, kind: 'direct' as const, title: null, members: [], createdAt: new Date().toISOString() },
    memberIds,
    removedUserIds: [],
    ...flag,
  };
}
function roomChanged(id: string, memberIds: string[], flag: { encrypted?: boolean } = {}) {
  return {
    type: 'member_added' as const,
    conversation: { id, kind: 'room' as const, title: 'r', members: [], createdAt: new Date().toISOString() },
    memberIds,
    removedUserIds: [],
    ...flag,
  };
}

describe('MembershipClient', () => {
  it('knows a direct conversation from its `created` event: the first message asks accounts nothing', async () => {
    const c = client();
    const [a, b] = [randomUUID(), randomUUID()];
    const id = randomUUID();
    c.onConversationChanged(createdDirect(id, [a, b]));
    // A delivery worker gets the event on two queues: the second copy must not make the entry doubtful.
    c.onConversationChanged(createdDirect(id, [a, b]));
    const got = await c.get(id);
    expect(got).toMatchObject({ id, kind: 'direct', sendable: true });
    expect([...got!.memberIds].sort()).toEqual([a, b].sort());
    expect(await c.members(id)).toHaveLength(2);
    expect(lookupsOf(id)).toBe(0);
  });

  it('past the TTL answers at once from the old entry and refreshes it behind (no send waits for accounts)', async () => {
    const c = client(50);
    const conv = accounts.conversation([randomUUID(), randomUUID()]);
    expect((await c.get(conv.id))?.sendable).toBe(true);
    expect(lookupsOf(conv.id)).toBe(1);
    conv.sendable = false;
    await new Promise((r) => setTimeout(r, 80)); // past the 50 ms TTL: that is what is tested
    // Stale answer now, refresh started...
    expect((await c.get(conv.id))?.sendable).toBe(true);
    await waitFor(() => lookupsOf(conv.id) === 2, 10_000, 'the background refresh');
    // ...and the refreshed entry afterwards.
    await waitFor(async () => (await c.get(conv.id))?.sendable === false, 10_000, 'the refreshed entry');
  });

  it('an entry an event made doubtful (friendship changed) is refreshed before it answers', async () => {
    const c = client();
    const [a, b] = [randomUUID(), randomUUID()];
    const conv = accounts.conversation([a, b]);
    expect((await c.get(conv.id))?.sendable).toBe(true);
    conv.sendable = false;
    c.onUsersChanged([a]);
    expect((await c.get(conv.id))?.sendable).toBe(false);
    expect(lookupsOf(conv.id)).toBe(2);
  });

  it('callers asking whether a conversation is encrypted while the question is out all wait for the answer', async () => {
    const c = client();
    const [a, b] = [randomUUID(), randomUUID()];
    const conv = accounts.conversation([a, b], { kind: 'direct', encrypted: true });
    // Known from its event, which does not say whether it is encrypted: asked once, when needed.
    c.onConversationChanged(createdDirect(conv.id, [a, b]));
    const answers = await Promise.all([c.encrypted(conv.id), c.encrypted(conv.id), c.encrypted(conv.id)]);
    expect(answers).toEqual([true, true, true]);
    expect(await c.encrypted(conv.id)).toBe(true);
    expect(lookupsOf(conv.id)).toBe(1);
  });

  it('takes the encryption flag from the event: a new conversation needs no lookup, even for a plaintext send', async () => {
    const c = client();
    const [a, b] = [randomUUID(), randomUUID()];
    const direct = randomUUID();
    const room = randomUUID();
    c.onConversationChanged(createdDirect(direct, [a, b], { encrypted: false }));
    c.onConversationChanged(roomChanged(room, [a, b], { encrypted: false }));
    expect(await c.encrypted(direct)).toBe(false);
    expect(await c.encrypted(room)).toBe(false);
    expect((await c.get(direct))?.encrypted).toBe(false);
    expect(lookupsOf(direct) + lookupsOf(room)).toBe(0);
  });

  it('a cached `false` turns `true` when encryption is switched on, and no older event turns it back', async () => {
    const c = client();
    const [a, b] = [randomUUID(), randomUUID()];
    // Cached from a lookup (not encrypted then), and from an event.
    const looked = accounts.conversation([a, b], { kind: 'direct' });
    expect(await c.encrypted(looked.id)).toBe(false);
    const room = randomUUID();
    c.onConversationChanged(roomChanged(room, [a, b], { encrypted: false }));
    expect(await c.encrypted(room)).toBe(false);

    c.onConversationChanged(createdDirect(looked.id, [a, b], { encrypted: true }, 'updated'));
    c.onConversationChanged(roomChanged(room, [a, b], { encrypted: true }));
    expect(await c.encrypted(looked.id)).toBe(true);
    expect(await c.encrypted(room)).toBe(true);
    // A membership change committed before the switch, delivered after it, says false: still true.
    c.onConversationChanged(roomChanged(room, [a, b], { encrypted: false }));
    c.onConversationChanged(createdDirect(looked.id, [a, b], { encrypted: false }));
    expect(await c.encrypted(room)).toBe(true);
    expect(await c.encrypted(looked.id)).toBe(true);
    // The direct conversation's switch made nothing doubtful: one lookup in all (the first read).
    expect(lookupsOf(looked.id)).toBe(1);
    expect(lookupsOf(room)).toBe(0);
  });

  it("an older publisher's event without the flag: a room keeps what it knew, a new one is asked once", async () => {
    const c = client();
    const [a, b] = [randomUUID(), randomUUID()];
    const known = randomUUID();
    c.onConversationChanged(roomChanged(known, [a, b], { encrypted: true }));
    c.onConversationChanged(roomChanged(known, [a, b, randomUUID()]));
    expect(await c.encrypted(known)).toBe(true);
    expect(lookupsOf(known)).toBe(0);
    const asked = accounts.conversation([a, b], { kind: 'room', encrypted: true });
    c.onConversationChanged(roomChanged(asked.id, [a, b]));
    expect(await c.encrypted(asked.id)).toBe(true);
    expect(await c.encrypted(asked.id)).toBe(true);
    expect(lookupsOf(asked.id)).toBe(1);
  });

  it('every caller while a doubtful entry is being refreshed gets the refreshed entry, not the old one', async () => {
    const c = client();
    const [a, b] = [randomUUID(), randomUUID()];
    const conv = accounts.conversation([a, b], { sendable: false });
    expect((await c.get(conv.id))?.sendable).toBe(false);
    // The pair are friends again: the event makes the entry doubtful; two sends check it at once.
    conv.sendable = true;
    c.onUsersChanged([a]);
    const [first, second] = await Promise.all([c.get(conv.id), c.get(conv.id)]);
    expect([first?.sendable, second?.sendable]).toEqual([true, true]);
    expect(lookupsOf(conv.id)).toBe(2);
  });

  it("a lookup still out when the conversation's event sets its entry answers with that entry, not UNAVAILABLE", async () => {
    const c = client();
    const [a, b] = [randomUUID(), randomUUID()];
    const conv = accounts.conversation([a, b]);
    // A new pair's first send looks the conversation up (two at once share the lookup) while its
    // `created` event comes in: lru-cache aborts the lookup the event's entry replaces.
    const [first, second] = [c.get(conv.id), c.get(conv.id)];
    c.onConversationChanged(createdDirect(conv.id, [a, b]));
    for (const got of await Promise.all([first, second])) expect(got).toMatchObject({ id: conv.id, sendable: true });
    // The same for a room (a member added while the lookup is out).
    const d = randomUUID();
    const room = accounts.conversation([a, b, randomUUID()]);
    const looking = c.get(room.id);
    c.onConversationChanged(roomChanged(room.id, [...room.members.map((m) => m.userId), d]));
    expect((await looking)?.memberIds.has(d)).toBe(true);
  });

  it('recheck asks accounts whatever is cached: a "no" older than the change that allows a send', async () => {
    const c = client();
    const [a, b, d] = [randomUUID(), randomUUID(), randomUUID()];
    // Former friends, cached as taking no messages; friends again in accounts, the event not here yet.
    const direct = accounts.conversation([a, b], { sendable: false });
    expect((await c.get(direct.id))?.sendable).toBe(false);
    direct.sendable = true;
    expect((await c.get(direct.id))?.sendable).toBe(false);
    expect((await c.recheck(direct.id))?.sendable).toBe(true);
    expect((await c.get(direct.id))?.sendable).toBe(true);
    expect(lookupsOf(direct.id)).toBe(2);
    // A room cached without a member accounts has added since.
    const room = accounts.conversation([a, b, randomUUID()]);
    expect((await c.get(room.id))?.memberIds.has(d)).toBe(false);
    room.members.push({ userId: d, role: 'member' });
    expect((await c.recheck(room.id))?.memberIds.has(d)).toBe(true);
    // Unknown when first asked, known now.
    const id = randomUUID();
    expect(await c.get(id)).toBeNull();
    accounts.conversation([a, b], { id });
    expect(await c.recheck(id)).toMatchObject({ id });
    // Rechecks at once share one lookup; accounts down: the held entry answers.
    const before = lookupsOf(room.id);
    await Promise.all([c.recheck(room.id), c.recheck(room.id)]);
    expect(lookupsOf(room.id)).toBe(before + 1);
    accounts.down = true;
    try {
      expect((await c.recheck(room.id))?.memberIds.has(d)).toBe(true);
    } finally {
      accounts.down = false;
    }
  });
});
