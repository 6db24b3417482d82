import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope } from '@chat/contracts';
import { freePort, startRabbit, type LocalRabbit } from '@chat/local-infra';
import { createTestDatabase, waitFor } from '@chat/testkit';
import {
  buildAccounts,
  call,
  befriend,
  registerUser,
  registerUsers,
  startHarness,
  tapEvents,
  uniqueName,
  type Harness,
} from './harness';
import { RELAY_LOCK } from '../src/outbox/relay';

const pending = async (h: Harness) =>
  (await h.database.pool.query('select count(*)::int as n from accounts.outbox where sent_at is null')).rows[0]
    .n as number;
const ofType = <T extends Envelope['type']>(events: Envelope[], type: T) =>
  events.filter((e) => e.type === type) as Array<Envelope<T>>;

describe('events through the transactional outbox', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('publishes user, friendship and conversation events to chat.events, in commit order', async () => {
    const tap = await tapEvents(h.vhost.url);
    try {
      const [a, b, c] = await registerUsers(h.app, 3);
      const direct = await befriend(h.app, a, b);
      // b, a friend, is added directly; c joins by accepting an invitation.
      const room = await call(h.app, 'POST', '/api/v1/conversations/rooms', {
        token: a.token,
        body: { title: 'team', memberIds: [b.id] },
      });
      const invitation = await call(h.app, 'POST', `/api/v1/conversations/${room.body.id}/invitations`, {
        token: a.token,
        body: { userId: c.id },
      });
      expect(
        (await call(h.app, 'POST', `/api/v1/invitations/${invitation.body.id}/accept`, { token: c.token })).status,
      ).toBe(200);
      await call(h.app, 'DELETE', `/api/v1/conversations/${room.body.id}/members/${c.id}`, { token: a.token });
      expect((await call(h.app, 'DELETE', `/api/v1/friends/${a.id}`, { token: b.token })).status).toBe(204);
      await waitFor(() => tap.events.length >= 15, 15_000, 'fifteen events').catch((err) => {
        throw new Error(`${(err as Error).message}; got ${tap.events.map((e) => e.type).join(', ')}`);
      });

      // Each room change is followed by its history entry (a message.created of kind "event").
      expect(tap.events.map((e) => e.type)).toEqual([
        'user.created',
        'user.created',
        'user.created',
        'friendship.changed',
        'friendship.changed',
        'conversation.changed',
        'conversation.changed',
        'message.created',
        'invitation.changed',
        'conversation.changed',
        'message.created',
        'invitation.changed',
        'conversation.changed',
        'message.created',
        'friendship.changed',
      ]);
      expect(ofType(tap.events, 'message.created').map((e) => e.payload.event?.type)).toEqual([
        'created',
        'joined',
        'removed',
      ]);
      expect(
        ofType(tap.events, 'user.created')
          .map((e) => e.payload.id)
          .sort(),
      ).toEqual([a.id, b.id, c.id].sort());
      const [request, accepted, removed] = ofType(tap.events, 'friendship.changed');
      expect(request!.payload).toMatchObject({
        userIds: [a.id, b.id],
        event: { type: 'request', request: { from: { id: a.id }, to: { id: b.id } } },
      });
      expect(accepted!.payload.event).toMatchObject({ type: 'accepted', conversationId: direct });
      expect(accepted!.payload.userIds.sort()).toEqual([a.id, b.id].sort());
      expect(removed!.payload.event).toMatchObject({ type: 'removed', userId: b.id, reason: 'unfriended' });
      const convEvents = ofType(tap.events, 'conversation.changed');
      expect(convEvents.map((e) => [e.payload.type, e.payload.conversation.id])).toEqual([
        ['created', direct],
        ['created', room.body.id],
        ['member_added', room.body.id],
        ['member_removed', room.body.id],
      ]);
      expect(convEvents[2]!.payload.memberIds.sort()).toEqual([a.id, b.id, c.id].sort());
      expect(convEvents[3]!.payload).toMatchObject({ removedUserIds: [c.id], userId: c.id });
      expect(convEvents[3]!.payload.memberIds.sort()).toEqual([a.id, b.id].sort());
      expect(new Set(tap.events.map((e) => e.id)).size).toBe(tap.events.length);
      // Marked once the broker confirmed the publish: after the tap got it, not before.
      await waitFor(async () => (await pending(h)) === 0, 10_000, 'every row marked sent');
    } finally {
      await tap.close();
    }
  });

  it('does not publish twice with two accounts instances relaying the same outbox', async () => {
    const tap = await tapEvents(h.vhost.url);
    const second = await h.another({ OUTBOX_POLL_MS: '10', OUTBOX_BATCH: '3' });
    try {
      const before = (await h.database.pool.query('select coalesce(max(seq), 0)::int as s from accounts.outbox'))
        .rows[0].s as number;
      await Promise.all(Array.from({ length: 30 }, (_, i) => registerUser(i % 2 ? second.app : h.app)));
      await waitFor(async () => (await pending(h)) === 0, 10_000, 'the outbox drained');
      const rows = (
        await h.database.pool.query('select event_id from accounts.outbox where seq > $1', [before])
      ).rows.map((r) => r.event_id as string);
      expect(rows).toHaveLength(30);
      // A sentinel published after everything else: once it arrived, a duplicate would have too.
      const sentinel = await registerUser(second.app);
      const isSentinel = (e: Envelope) =>
        e.type === 'user.created' && (e as Envelope<'user.created'>).payload.id === sentinel.id;
      await waitFor(() => tap.events.some(isSentinel), 15_000, 'the sentinel event');
      const ids = tap.events.filter((e) => !isSentinel(e)).map((e) => e.id);
      expect(ids.sort()).toEqual(rows.sort());
    } finally {
      await tap.close();
    }
  });

  it('publishes what two instances commit at once right away: a relay finding the lock taken looks again soon', async () => {
    // No poll to fall back on: only the kicks after each commit, and the look again when the lock is taken.
    await h.app.outbox.stop();
    const x = await h.another({ OUTBOX_POLL_MS: '600000' });
    const y = await h.another({ OUTBOX_POLL_MS: '600000' });
    try {
      for (let round = 0; round < 5; round++) {
        await Promise.all(Array.from({ length: 20 }, (_, i) => registerUser(i % 2 ? x.app : y.app)));
        await waitFor(async () => (await pending(h)) === 0, 10_000, `round ${round}: the outbox drained`);
      }
    } finally {
      h.app.outbox.start();
    }
  });

  it('publishes a commit whose kick found the relay lock taken once the lock is free, with no poll to fall back on', async () => {
    await h.app.outbox.stop();
    const x = await h.another({ OUTBOX_POLL_MS: '600000' });
    // Another relay's pass, held open: the commit's kick finds the lock taken and must look again.
    const holder = await h.database.pool.connect();
    try {
      await holder.query('select pg_advisory_lock($1)', [RELAY_LOCK]);
      await registerUser(x.app);
      expect(await pending(h)).toBeGreaterThan(0);
      await holder.query('select pg_advisory_unlock($1)', [RELAY_LOCK]);
      await waitFor(async () => (await pending(h)) === 0, 10_000, 'the outbox drained once the lock was free');
    } finally {
      await holder.query('select pg_advisory_unlock_all()');
      holder.release();
      h.app.outbox.start();
    }
  });

  it('keeps changes committed while the broker is down and publishes them once it is back', async () => {
    const base = mkdtempSync(join(tmpdir(), 'accounts-rabbit-'));
    // Three distinct ports: freePort() closes its probe, so two calls may hand out the same one.
    const ports = new Set<number>();
    while (ports.size < 3) ports.add(await freePort());
    const [port, managementPort, distPort] = [...ports] as [number, number, number];
    let rabbit: LocalRabbit | null = null;
    let accounts: Awaited<ReturnType<typeof buildAccounts>> | null = null;
    // A database of its own: the shared app's relay (on the shared broker) must not drain this outbox.
    const tdb = await createTestDatabase();
    const pendingHere = async () =>
      (await accounts!.database.pool.query('select count(*)::int as n from accounts.outbox where sent_at is null'))
        .rows[0].n as number;
    try {
      rabbit = await startRabbit({
        baseDir: base,
        port,
        managementPort,
        distPort,
        nodeName: `accounts-outbox-${port}@localhost`,
      });
      accounts = await buildAccounts({ dbUrl: tdb.url, amqpUrl: rabbit.url(), keys: h.keys });
      // A durable queue bound before the outage keeps what is published after it.
      const tap = await tapEvents(rabbit.url(), 'outage-tap');
      await tap.close();

      const disconnected = new Promise((r) => accounts!.broker.once('disconnect', r));
      await rabbit.stop();
      await disconnected;
      const names = [uniqueName('down'), uniqueName('down')];
      for (const n of names)
        expect(
          (await call(accounts.app, 'POST', '/api/v1/auth/register', { body: { username: n, password: 'password1' } }))
            .status,
        ).toBe(201);
      expect(await pendingHere()).toBe(2);
      expect((await call(accounts.app, 'GET', '/readyz')).status).toBe(503);

      await rabbit.restart();
      // A node just back may still reset a connection while it finishes booting (read ECONNRESET on a
      // loaded CI machine): connect until it takes one.
      const after = await waitFor(
        async () => tapEvents(rabbit!.url(), 'outage-tap').catch(() => null),
        30_000,
        'a connection to the restarted broker',
        250,
      );
      try {
        await waitFor(
          () => names.every((n) => ofType(after.events, 'user.created').some((e) => e.payload.username === n)),
          20_000,
          'the events committed during the outage',
        );
        await waitFor(async () => (await pendingHere()) === 0, 10_000, 'the outbox drained');
        // Ready once every consumer is consuming again (Broker.isReady), which may come after the
        // outbox's publishes are confirmed on the new connection.
        await waitFor(
          async () => (await call(accounts!.app, 'GET', '/readyz')).status === 200,
          15_000,
          'accounts ready again',
        );
      } finally {
        await after.close();
      }
    } finally {
      try {
        await accounts?.close();
      } finally {
        // Even if closing accounts fails: a private RabbitMQ must not outlive the test.
        await rabbit?.kill();
        await tdb.drop();
        rmSync(base, { recursive: true, force: true });
      }
    }
  }, 120_000);
});
