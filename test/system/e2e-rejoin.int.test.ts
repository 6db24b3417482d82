import { randomUUID } from 'node:crypto';
import type { BenchUser } from '@chat/client';
import { E2EDevice, MemoryStore } from '@chat/client/e2e';
import type { E2eEvent } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { useStack } from './stack';
import { friendsPair } from './fixtures';

/**
 * A device away for longer than its group keeps commits (here 3, E2E_COMMITS_KEPT; 1000 by default)
 * cannot catch up by itself: it asks to be re-added, and a member's device online re-adds it with the
 * fresh key package it published. It then reads what is sent after, and what it missed shows as sent
 * before it (re)joined (docs/e2e.md).
 */
describe('a device too far behind is re-added', () => {
  const { stack, track } = useStack({ env: { accounts: { E2E_COMMITS_KEPT: '3' } } });

  it('asks, is re-added by a member device online, and reads what follows', async () => {
    const { api, a, b, conversationId } = await friendsPair(stack.origin());
    const open = (u: BenchUser) =>
      E2EDevice.open({ request: api.requester(u.token), store: new MemoryStore(), userId: u.id });
    const [a1, b1] = await Promise.all([open(a), open(b)]);
    await a1.enable(conversationId);
    await b1.reconcile(conversationId);
    const epochOf = async () =>
      (await api.call<{ epoch: number }>('GET', `/e2e/groups/${conversationId}`, undefined, a.token)).epoch;
    expect(await epochOf()).toBe(1);

    // While bob's device is away, alice's devices come and go: 6 commits, more than the group keeps.
    for (let i = 0; i < 3; i++) {
      const a2 = await open(a);
      await a1.reconcile(conversationId);
      await a2.remove();
      await a1.reconcile(conversationId);
    }
    expect(await epochOf()).toBe(7);
    const missed = `while bob was away ${randomUUID()}`;
    const missedId = randomUUID();
    const missedPayload = await a1.encrypt(conversationId, missed, missedId);

    // Both come online; each passes the socket's `e2e` events to its device and does nothing else.
    const sa = await api.connect(a.token);
    const sb = await api.connect(b.token);
    track(sa, sb);
    const toAlice: E2eEvent[] = [];
    const readds: Array<Promise<boolean>> = [];
    sa.on('e2e', (e) => {
      toAlice.push(e);
      readds.push(a1.onEvent(e));
    });
    sb.on('e2e', (e) => void b1.onEvent(e));

    // Bob's device opens the conversation: it cannot catch up, and asks.
    await b1.reconcile(conversationId);
    expect(b1.awaitingRejoin(conversationId)).toBe(true);
    await waitFor(() => toAlice.some((e) => e.type === 'rejoin'), 20_000, 'the rejoin request to reach alice');
    expect(toAlice.find((e) => e.type === 'rejoin')).toMatchObject({
      type: 'rejoin',
      conversationId,
      epoch: 7,
      userId: b.id,
      deviceId: b1.deviceId,
    });
    await waitFor(async () => (await epochOf()) === 8, 20_000, "alice's device to commit the re-add");
    expect(await Promise.all(readds)).toContain(true);
    await waitFor(() => !b1.awaitingRejoin(conversationId), 20_000, "bob's device to join from the welcome");
    expect((await b1.groupDevices(conversationId)).map((d) => d.deviceId).sort()).toEqual(
      [a1.deviceId, b1.deviceId].sort(),
    );

    // Bob reads what alice sends now; what he missed says so.
    const after = `after the re-add ${randomUUID()}`;
    const afterId = randomUUID();
    const payload = await a1.encrypt(conversationId, after, afterId);
    expect(await b1.decrypt({ conversationId, senderId: a.id, clientMsgId: afterId, encrypted: payload })).toEqual({
      ok: true,
      text: after,
    });
    expect(
      await b1.decrypt({ conversationId, senderId: a.id, clientMsgId: missedId, encrypted: missedPayload }),
    ).toEqual({ ok: false, reason: 'before-join' });
  });

  it('refuses a rejoin request for a device that is not yours, or a conversation that is not encrypted', async () => {
    const { api, a, b, conversationId } = await friendsPair(stack.origin());
    const a1 = await E2EDevice.open({ request: api.requester(a.token), store: new MemoryStore(), userId: a.id });
    const b1 = await E2EDevice.open({ request: api.requester(b.token), store: new MemoryStore(), userId: b.id });
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'OK',
        (e: { code?: string }) => e.code,
      );
    const rejoin = (token: string, deviceId: string, keyPackage = 'AAAA') =>
      code(api.requester(token)('POST', `/e2e/groups/${conversationId}/rejoin`, { deviceId, keyPackage }));
    expect(await rejoin(b.token, b1.deviceId)).toBe('NOT_FOUND');
    await a1.enable(conversationId);
    expect(await rejoin(b.token, a1.deviceId)).toBe('NOT_FOUND');
    expect(await rejoin(b.token, b1.deviceId, 'not base64!')).toBe('VALIDATION');
    expect(await rejoin(b.token, b1.deviceId)).toBe('OK');
    // A package that is not the device's own is ignored by the members' devices: nothing is committed.
    expect(
      await a1.onEvent({
        type: 'rejoin',
        conversationId,
        epoch: 1,
        userId: b.id,
        deviceId: b1.deviceId,
        keyPackage: 'AAAA',
      }),
    ).toBe(false);
  });

  it('takes one rejoin request per device and conversation per window: a second one is refused and reaches no one', async () => {
    const { api, a, b, conversationId } = await friendsPair(stack.origin());
    const open = (u: BenchUser) =>
      E2EDevice.open({ request: api.requester(u.token), store: new MemoryStore(), userId: u.id });
    const [a1, b1, b2] = await Promise.all([open(a), open(b), open(b)]);
    await a1.enable(conversationId);
    const sa = await api.connect(a.token);
    track(sa);
    const rejoins: Array<Extract<E2eEvent, { type: 'rejoin' }>> = [];
    sa.on('e2e', (e) => {
      if (e.type === 'rejoin') rejoins.push(e);
    });
    const rejoin = (deviceId: string) =>
      fetch(`${stack.origin()}/api/v1/e2e/groups/${conversationId}/rejoin`, {
        method: 'POST',
        headers: { authorization: `Bearer ${b.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ deviceId, keyPackage: 'AAAA' }),
      });

    expect((await rejoin(b1.deviceId)).status).toBe(202);
    const again = await rejoin(b1.deviceId);
    expect(again.status).toBe(429);
    const body = (await again.json()) as { error: { code: string; retryable: boolean; retryAfterMs: number } };
    expect(body.error).toMatchObject({ code: 'RATE_LIMITED', retryable: true });
    expect(body.error.retryAfterMs).toBeGreaterThan(0);
    expect(body.error.retryAfterMs).toBeLessThanOrEqual(30_000);
    expect(again.headers.get('ratelimit-policy')).toBe('1;w=30');
    // Another device of the same user is counted on its own.
    expect((await rejoin(b2.deviceId)).status).toBe(202);

    await waitFor(() => rejoins.some((e) => e.deviceId === b2.deviceId), 20_000, "b2's rejoin request to reach alice");
    // The outbox relays in order: had the refused request been sent, it would have come before b2's.
    expect(rejoins.filter((e) => e.deviceId === b1.deviceId)).toHaveLength(1);
  });
});
