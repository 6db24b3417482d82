import { freePort } from '@chat/local-infra';
import { Api, type BenchUser } from '@chat/client';
import { waitFor } from '@chat/testkit';
import { useStack } from './stack';

/** How soon after a logout every service must refuse the session's access token. */
const BOUND_MS = 5_000;

interface Session extends BenchUser {
  refreshToken: string;
}

/**
 * Issue 11.9: logout ends a session's access tokens on HTTP too, without a call to accounts per request.
 * Every service that authenticates keeps a set of revoked sessions, fed by `session.revoked` and loaded
 * at start-up; this checks accounts (the instance that logged out and another one), persistence's
 * history, both through the public origin and on their own ports, a new socket, and a persistence
 * started after the logout.
 */
describe('an access token after its session ended', () => {
  const { stack, track } = useStack();

  const register = async (origin: string, username: string): Promise<Session> => {
    const res = await fetch(`${origin}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'revocation-pass-1' }),
    });
    const r = (await res.json()) as { user: { id: string }; accessToken: string; refreshToken: string };
    return { id: r.user.id, username, token: r.accessToken, refreshToken: r.refreshToken };
  };
  const status = async (url: string, token: string) => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json().catch(() => null)) as { error?: { code: string } } | null;
    return { status: res.status, code: body?.error?.code };
  };
  /** Polls until `url` refuses `token` with 401 UNAUTHENTICATED; resolves with how long that took. */
  const refusedWithin = async (url: string, token: string, since: number) => {
    await waitFor(async () => (await status(url, token)).status === 401, BOUND_MS * 3, `401 from ${url}`);
    expect(await status(url, token)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    return Date.now() - since;
  };

  it('is refused with 401 by every service within the bound, and by one started afterwards', async () => {
    const origin = stack.origin();
    // A second accounts instance: it learns of a logout made on the first only through the event.
    const accounts2 = await stack.spawn('accounts', await freePort());
    const accounts1 = stack.all('accounts')[0]!;
    const persistence = stack.all('persistence')[0]!;

    const suffix = Date.now().toString(36);
    const a = await register(origin, `rv_a_${suffix}`);
    const b = await register(origin, `rv_b_${suffix}`);
    const api = new Api(origin);
    const conversationId = await api.befriend(a, b);

    const urls = {
      originMe: `${origin}/api/v1/me`,
      accounts1: `http://127.0.0.1:${accounts1.port}/api/v1/me`,
      accounts2: `http://127.0.0.1:${accounts2.port}/api/v1/me`,
      originHistory: `${origin}/api/v1/conversations/${conversationId}/messages`,
      persistence: `http://127.0.0.1:${persistence.port}/api/v1/conversations/${conversationId}/messages`,
    };
    for (const url of Object.values(urls)) expect((await status(url, a.token)).status).toBe(200);

    // Another session of the same user, which must keep working.
    const login = await fetch(`${origin}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: a.username, password: 'revocation-pass-1' }),
    });
    const other = ((await login.json()) as { accessToken: string }).accessToken;

    const loggedOutAt = Date.now();
    const out = await fetch(`${origin}/api/v1/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: a.refreshToken }),
    });
    expect(out.status).toBe(204);
    // The instance that ended the session refuses at once.
    expect(await status(urls.accounts1, a.token)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });

    // Polled side by side: checked one after the other, each service's time would include the checks of
    // those before it (seconds on a loaded machine), not just its own.
    const took = Object.fromEntries(
      await Promise.all(
        Object.entries(urls).map(async ([name, url]) => [name, await refusedWithin(url, a.token, loggedOutAt)]),
      ),
    ) as Record<string, number>;
    if (process.env.CHAT_TEST_FIGURES) console.log(took);
    for (const ms of Object.values(took)) expect(ms).toBeLessThanOrEqual(BOUND_MS);

    // No new socket either (the open ones were already disconnected by the same event).
    const refused = await api.connect(a.token).then(
      (s) => (track(s), 'connected'),
      (err: { data?: { error?: { code?: string } } }) => err.data?.error?.code,
    );
    expect(refused).toBe('UNAUTHENTICATED');

    // A persistence started after the logout loads the revoked sessions from accounts at start-up.
    expect(await stack.terminate(persistence)).toBe(0);
    const restarted = await stack.spawn('persistence', persistence.port);
    await refusedWithin(urls.persistence, a.token, Date.now());
    expect(restarted.port).toBe(persistence.port);

    // The user's other session is untouched everywhere.
    for (const url of Object.values(urls)) expect((await status(url, other)).status).toBe(200);
  }, 120_000);
});
