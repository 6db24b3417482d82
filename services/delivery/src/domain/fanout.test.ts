import { randomUUID } from 'node:crypto';
import type { AnyEnvelope, EventPayload, EventType } from '@chat/contracts';
import { byGateway, fanoutOf, type Resolver } from './fanout';

const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
const conv = randomUUID();
const resolver: Resolver = {
  members: async (id) => (id === conv ? [a, b, c] : null),
  contacts: async (u) => (u === a ? [b] : []),
};

function env<T extends EventType>(type: T, payload: EventPayload<T>): AnyEnvelope {
  return {
    v: 1,
    type,
    id: randomUUID(),
    occurredAt: new Date(1_700_000_000_000).toISOString(),
    traceId: 't1',
    payload,
  } as AnyEnvelope;
}

const message = {
  id: '01JD0000000000000000000000',
  conversationId: conv,
  senderId: a,
  clientMsgId: randomUUID(),
  createdAt: new Date(1_700_000_000_123).toISOString(),
  kind: 'text' as const,
  body: 'hi',
};

describe('fanout', () => {
  it('sends a new message to every member, the sender included, timed from its acceptance', async () => {
    const f = await fanoutOf(env('message.created', message), resolver);
    expect(f).toMatchObject({
      userIds: [a, b, c],
      event: 'message:new',
      data: message,
      sentAt: 1_700_000_000_123,
      traceId: 't1',
    });
  });

  it('sends nothing for a conversation accounts does not know', async () => {
    expect(await fanoutOf(env('message.created', { ...message, conversationId: randomUUID() }), resolver)).toBeNull();
  });

  it('sends a read marker to every member, the reader included', async () => {
    const r = { conversationId: conv, userId: b, messageId: message.id, at: new Date().toISOString() };
    expect(await fanoutOf(env('message.read', r), resolver)).toMatchObject({
      userIds: [a, b, c],
      event: 'read',
      data: r,
    });
  });

  it('sends a room invitation change to the invitee and the inviter', async () => {
    const user = (id: string) => ({
      id,
      username: `u${id.slice(0, 4)}`,
      displayName: 'U',
      createdAt: new Date().toISOString(),
    });
    const event = {
      type: 'created' as const,
      invitation: {
        id: randomUUID(),
        conversation: { id: conv, title: 'room' },
        from: user(a),
        to: user(c),
        createdAt: new Date().toISOString(),
      },
      userId: a,
    };
    expect(await fanoutOf(env('invitation.changed', { userIds: [c, a], event }), resolver)).toMatchObject({
      userIds: [c, a],
      event: 'invitation',
      data: event,
    });
  });

  it('sends typing to the other members only', async () => {
    const t = { conversationId: conv, userId: a, typing: true };
    expect(await fanoutOf(env('typing.changed', t), resolver)).toMatchObject({ userIds: [b, c], event: 'typing' });
  });

  it('sends a membership change to the members and to who just left', async () => {
    const payload = {
      type: 'member_removed' as const,
      conversation: { id: conv, kind: 'room' as const, title: 'r', members: [], createdAt: new Date().toISOString() },
      memberIds: [a, b],
      removedUserIds: [c],
      userId: c,
    };
    const f = await fanoutOf(env('conversation.changed', payload), resolver);
    expect(f).toMatchObject({
      userIds: [a, b, c],
      event: 'conversation',
      data: { type: 'member_removed', conversation: payload.conversation, userId: c },
    });
    expect(f?.data).not.toHaveProperty('encrypted');
  });

  it("passes a conversation's encryption flag on to the members' sockets", async () => {
    const payload = {
      type: 'updated' as const,
      conversation: {
        id: conv,
        kind: 'direct' as const,
        title: null,
        members: [],
        createdAt: new Date().toISOString(),
      },
      memberIds: [a, b],
      removedUserIds: [],
      encrypted: true,
    };
    const f = await fanoutOf(env('conversation.changed', payload), resolver);
    expect(f).toMatchObject({ userIds: [a, b], event: 'conversation', data: { type: 'updated', encrypted: true } });
  });

  it('sends a friendship change to both users, and presence to contacts', async () => {
    const fe = { type: 'accepted' as const, user: { id: b } };
    expect(await fanoutOf(env('friendship.changed', { userIds: [a, b], event: fe }), resolver)).toMatchObject({
      userIds: [a, b],
      event: 'friends',
      data: fe,
    });
    const p = { userId: a, online: true, lastSeenAt: null };
    expect(await fanoutOf(env('presence.changed', p), resolver)).toMatchObject({
      userIds: [b],
      event: 'presence',
      data: p,
    });
  });

  it("sends an end-to-end commit to the users named, once each, as the socket 'e2e' event", async () => {
    const e = { type: 'commit' as const, conversationId: conv, epoch: 3, deviceId: 'dev-a', welcomed: [] };
    expect(await fanoutOf(env('e2e.changed', { userIds: [a, b, a], event: e }), resolver)).toMatchObject({
      userIds: [a, b],
      event: 'e2e',
      data: e,
    });
  });

  it('sends nothing for heartbeats', async () => {
    expect(
      await fanoutOf(env('gateway.heartbeat', { gatewayId: 'g', userIds: [a], intervalMs: 1000 }), resolver),
    ).toBeNull();
  });

  it('splits a fan-out by gateway: each gateway gets one item naming only the recipients it holds', async () => {
    const f = (await fanoutOf(env('message.created', message), resolver))!;
    const sessions = new Map<string, string[]>([
      [a, ['g1']],
      [b, ['g1', 'g2']],
    ]);
    const route = (ids: string[]) => {
      const out = new Map<string, string[]>();
      for (const u of ids) for (const g of sessions.get(u) ?? []) out.set(g, [...(out.get(g) ?? []), u]);
      return out;
    };
    const out = byGateway([f, null], route);
    expect([...out.keys()].sort()).toEqual(['g1', 'g2']);
    expect(out.get('g1')).toEqual([
      { event: 'message:new', data: message, userIds: [a, b], traceId: 't1', sentAt: 1_700_000_000_123 },
    ]);
    expect(out.get('g2')).toEqual([
      { event: 'message:new', data: message, userIds: [b], traceId: 't1', sentAt: 1_700_000_000_123 },
    ]);
  });

  it('gives the gateway that accepted a message (its origin) no copy: it emitted it to its own sockets', async () => {
    const created = { ...env('message.created', message), origin: 'g1' } as AnyEnvelope;
    const f = (await fanoutOf(created, resolver))!;
    const route = (ids: string[]) =>
      new Map<string, string[]>([
        ['g1', ids],
        ['g2', ids.filter((u) => u !== a)],
      ]);
    const out = byGateway([f], route);
    expect([...out.keys()]).toEqual(['g2']);
    // The origin is routing, not part of what a gateway is sent.
    expect(out.get('g2')).toEqual([
      { event: 'message:new', data: message, userIds: [b, c], traceId: 't1', sentAt: 1_700_000_000_123 },
    ]);
    // Other events caused through a gateway still reach it (only a message is emitted by its origin).
    const read = {
      ...env('message.read', { conversationId: conv, userId: a, messageId: message.id, at: message.createdAt }),
      origin: 'g1',
    } as AnyEnvelope;
    expect([...byGateway([await fanoutOf(read, resolver)], route).keys()].sort()).toEqual(['g1', 'g2']);
  });
});
