import { randomUUID } from 'node:crypto';
import type { BenchUser } from '@chat/client';
import { E2EDevice, MemoryStore } from '@chat/client/e2e';
import type { E2eEvent } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { useStack } from './stack';
import { friendsPair } from './fixtures';

/**
 * A member registers a new device while the others' devices sit idle: its first key packages are
 * announced (socket `e2e`, type `device`) and an idle member device adds it at once, without anyone
 * sending or opening the conversation (docs/e2e.md).
 */
describe("a member's new device is added by an idle member device", () => {
  const { stack, track } = useStack();

  it('announces the first key packages, and a device online adds the new device, which then reads', async () => {
    const { api, a, b, conversationId } = await friendsPair(stack.origin());
    const open = (u: BenchUser) =>
      E2EDevice.open({ request: api.requester(u.token), store: new MemoryStore(), userId: u.id, deviceAddSpreadMs: 0 });
    const [a1, b1] = await Promise.all([open(a), open(b)]);
    await a1.enable(conversationId);
    await b1.reconcile(conversationId);
    const epochOf = async () =>
      (await api.call<{ epoch: number }>('GET', `/e2e/groups/${conversationId}`, undefined, a.token)).epoch;
    expect(await epochOf()).toBe(1);

    // Both are online and only pass the socket's `e2e` events to their devices.
    const sa = await api.connect(a.token);
    const sb = await api.connect(b.token);
    track(sa, sb);
    const toAlice: E2eEvent[] = [];
    sa.on('e2e', (e) => {
      toAlice.push(e);
      void a1.onEvent(e);
    });
    sb.on('e2e', (e) => void b1.onEvent(e));

    // Bob signs in on a second device (it publishes its first key packages, then does nothing).
    const b2 = await open(b);
    await waitFor(
      () => toAlice.some((e) => e.type === 'device' && e.deviceId === b2.deviceId),
      20_000,
      'the new device to be announced to alice',
    );
    expect(toAlice.find((e) => e.type === 'device')).toEqual({
      type: 'device',
      conversationId,
      userId: b.id,
      deviceId: b2.deviceId,
    });
    await waitFor(async () => (await epochOf()) === 2, 20_000, 'a member device to commit the addition');
    const detail = await api.call<{ devices: Array<{ deviceId: string }> }>(
      'GET',
      `/e2e/groups/${conversationId}`,
      undefined,
      a.token,
    );
    expect(detail.devices.map((d) => d.deviceId).sort()).toEqual([a1.deviceId, b1.deviceId, b2.deviceId].sort());

    // The new device joins from its welcome and reads what alice sends now.
    const text = `to every device ${randomUUID()}`;
    const clientMsgId = randomUUID();
    const encrypted = await a1.encrypt(conversationId, text, clientMsgId);
    expect(await b2.decrypt({ conversationId, senderId: a.id, clientMsgId, encrypted })).toEqual({ ok: true, text });
    expect((await b2.groupDevices(conversationId)).map((d) => d.deviceId).sort()).toEqual(
      [a1.deviceId, b1.deviceId, b2.deviceId].sort(),
    );
    // Announced once, though the device's packages were claimed and it joined meanwhile.
    expect(toAlice.filter((e) => e.type === 'device')).toHaveLength(1);
  });
});
