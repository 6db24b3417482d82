/** Ending a session (logout, refresh-token reuse) tells the gateways, which disconnect its sockets. */
import { createVerifier, localKeys } from '@chat/auth';
import { waitFor } from '@chat/testkit';
import { call, registerUser, startHarness, tapEvents, type Harness } from './harness';

describe('session revocation', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const sessionOf = async (accessToken: string) => (await createVerifier(localKeys(h.keys.jwks))(accessToken)).sessionId;

  it('names the session in every access token of it, across refreshes', async () => {
    const u = await registerUser(h.app);
    const sid = await sessionOf(u.token);
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);
    const refreshed = await call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } });
    expect(await sessionOf(refreshed.body.accessToken)).toBe(sid);
    const other = await call(h.app, 'POST', '/api/v1/auth/login', { body: { username: u.username, password: 'correct horse' } });
    expect(await sessionOf(other.body.accessToken)).not.toBe(sid);
  });

  it('publishes session.revoked on logout and on refresh-token reuse, once per session', async () => {
    const tap = await tapEvents(h.vhost.url);
    try {
      const u = await registerUser(h.app);
      const sid = await sessionOf(u.token);
      expect((await call(h.app, 'POST', '/api/v1/auth/logout', { body: { refreshToken: u.refreshToken } })).status).toBe(204);
      expect((await call(h.app, 'POST', '/api/v1/auth/logout', { body: { refreshToken: u.refreshToken } })).status).toBe(204);
      const v = await registerUser(h.app);
      const vsid = await sessionOf(v.token);
      await call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: v.refreshToken } });
      expect((await call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: v.refreshToken } })).status).toBe(401);
      const revoked = () => tap.events.filter((e) => e.type === 'session.revoked').map((e) => e.payload);
      await waitFor(() => revoked().length >= 2, 5_000, 'two revocations');
      expect(revoked()).toEqual([{ userId: u.id, sessionId: sid }, { userId: v.id, sessionId: vsid }]);
    } finally {
      await tap.close();
    }
  });
});
