/**
 * A device's first key packages are announced to the members of its user's encrypted conversations
 * (`e2e.changed`, type `device`), once per device, and at most E2E_DEVICE_ANNOUNCE_MAX new devices a
 * window per user: beyond that the upload still succeeds and nothing is announced.
 */
import { waitFor } from '@chat/testkit';
import { E2E_CIPHERSUITE } from '../src/routes/e2e.routes';
import { befriend, call, registerUsers, startHarness, tapEvents, type Harness, type TestUser } from './harness';

describe('new device announcements', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ E2E_DEVICE_ANNOUNCE_MAX: '2' });
  });
  afterAll(() => h.close());

  const device = async (u: TestUser, deviceId: string, algorithm = E2E_CIPHERSUITE) => {
    const put = await call(h.app, 'PUT', `/api/v1/keys/devices/${deviceId}`, {
      token: u.token,
      body: { publicKey: 'AAAA', algorithm },
    });
    expect(put.status).toBeLessThan(300);
  };
  const publish = async (u: TestUser, deviceId: string) => {
    const r = await call(h.app, 'POST', `/api/v1/e2e/devices/${deviceId}/key-packages`, {
      token: u.token,
      body: { keyPackages: ['AAAA', 'BBBB'] },
    });
    expect(r.status).toBe(200);
  };

  it('announces first packages only, to each encrypted conversation, within the per-user bound', async () => {
    const tap = await tapEvents(h.vhost.url);
    try {
      const [a, b, c] = await registerUsers(h.app, 3);
      const ab = await befriend(h.app, a, b);
      const ac = await befriend(h.app, a, c);
      await befriend(h.app, b, c); // not encrypted: never announced to
      for (const id of [ab, ac])
        expect((await call(h.app, 'POST', `/api/v1/e2e/groups/${id}`, { token: a.token })).status).toBe(201);
      await device(b, 'b-one');
      await device(c, 'c-one');
      const announced = () =>
        tap.events
          .filter((e) => e.type === 'e2e.changed')
          .map(
            (e) =>
              e.payload as { userIds: string[]; event: { type: string; conversationId: string; deviceId: string } },
          )
          .filter((p) => p.event.type === 'device');

      // Alice's new device: one event per encrypted conversation, to that conversation's MLS members.
      await device(a, 'a-one');
      await publish(a, 'a-one');
      await waitFor(() => announced().length >= 2, 10_000, 'two announcements');
      const byConv = new Map(announced().map((p) => [p.event.conversationId, p]));
      expect([...byConv.keys()].sort()).toEqual([ab, ac].sort());
      expect(byConv.get(ab)).toMatchObject({ event: { type: 'device', userId: a.id, deviceId: 'a-one' } });
      expect(byConv.get(ab)!.userIds.sort()).toEqual([a.id, b.id].sort());
      expect(byConv.get(ac)!.userIds.sort()).toEqual([a.id, c.id].sort());

      // More packages of the same device, and a device of another algorithm: not announced. A second
      // new device is (the bound is 2); a third one is not, though its upload succeeds.
      await publish(a, 'a-one');
      await device(a, 'a-other', 'something-else');
      await publish(a, 'a-other');
      await device(a, 'a-two');
      await publish(a, 'a-two');
      await device(a, 'a-three');
      await publish(a, 'a-three');
      // Then one that must be announced (another user's bound): once it arrives, the ones before it would have.
      await device(b, 'b-two');
      await publish(b, 'b-two');
      await waitFor(() => announced().some((p) => p.event.deviceId === 'b-two'), 10_000, "b-two's announcement");
      const devices = announced().map((p) => p.event.deviceId);
      expect(devices.filter((d) => d === 'a-one')).toHaveLength(2);
      expect(devices.filter((d) => d === 'a-two')).toHaveLength(2);
      expect(devices).not.toContain('a-other');
      expect(devices).not.toContain('a-three');
    } finally {
      await tap.close();
    }
  });
});
