import type { Envelope, Presence } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { registerUsers, startHarness, tapEvents, type Harness } from './harness';

/** The offline event comes when the grace ends, not up to a sweeper tick later (docs/api.md: 3 s). */
describe('presence: the offline transition at the end of the grace', () => {
  let h: Harness;
  let tap: Awaited<ReturnType<typeof tapEvents>>;
  beforeAll(async () => {
    // A sweeper tick far longer than the grace: only the one-shot wake can be on time.
    h = await startHarness({ PRESENCE_GRACE_MS: '600', PRESENCE_SWEEP_MS: '20000' });
    tap = await tapEvents(h.vhost.url);
  });
  afterAll(async () => {
    await tap.close();
    await h.close();
  });

  it('publishes offline between grace and grace + a little after the last session goes', async () => {
    const [a] = await registerUsers(h.app, 1);
    const changes = () =>
      tap.events
        .filter((e) => e.type === 'presence.changed' && (e.payload as Presence).userId === a.id)
        .map((e) => (e as Envelope<'presence.changed'>).payload);
    await h.broker.publish('presence.reported', { gatewayId: 'gw1', userId: a.id, online: true });
    await waitFor(() => changes().length === 1, 15_000, 'online');
    const wentAt = Date.now();
    await h.broker.publish('presence.reported', { gatewayId: 'gw1', userId: a.id, online: false });
    await waitFor(() => changes().length === 2, 10_000, 'offline');
    const took = Date.now() - wentAt;
    expect(changes()[1]).toMatchObject({ online: false });
    expect(took).toBeGreaterThanOrEqual(550);
    // Far below the 20 s sweeper tick (so the one-shot wake did it), with room for a loaded CI machine.
    expect(took).toBeLessThan(10_000);
  });
});
