/** Ending a session (logout, refresh-token reuse) tells the gateways, which disconnect its sockets. */
import { createVerifier, localKeys } from '@chat/auth';
import { waitFor } from '@chat/testkit';
import { createSessionsRepository } from '../src/repositories/sessions.repository';
import { call, registerUser, startHarness, tapEvents, type Harness } from './harness';

describe('session revocation', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const sessionOf = async (accessToken: string) =>
    (await createVerifier(localKeys(h.keys.jwks))(accessToken)).sessionId;

  it('names the session in every access token of it, across refreshes', async () => {
    const u = await registerUser(h.app);
    const sid = await sessionOf(u.token);
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);
    const refreshed = await call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } });
    expect(await sessionOf(refreshed.body.accessToken)).toBe(sid);
    const other = await call(h.app, 'POST', '/api/v1/auth/login', {
      body: { username: u.username, password: 'correct horse' },
    });
    expect(await sessionOf(other.body.accessToken)).not.toBe(sid);
  });

  it('publishes session.revoked on logout and on refresh-token reuse, once per session', async () => {
    const tap = await tapEvents(h.vhost.url);
    try {
      const u = await registerUser(h.app);
      const sid = await sessionOf(u.token);
      expect(
        (await call(h.app, 'POST', '/api/v1/auth/logout', { body: { refreshToken: u.refreshToken } })).status,
      ).toBe(204);
      expect(
        (await call(h.app, 'POST', '/api/v1/auth/logout', { body: { refreshToken: u.refreshToken } })).status,
      ).toBe(204);
      const v = await registerUser(h.app);
      const vsid = await sessionOf(v.token);
      await call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: v.refreshToken } });
      expect(
        (await call(h.app, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: v.refreshToken } })).status,
      ).toBe(401);
      const revoked = () => tap.events.filter((e) => e.type === 'session.revoked').map((e) => e.payload);
      await waitFor(() => revoked().length >= 2, 15_000, 'two revocations');
      // `until`: when the session's last access token expires (one access-token lifetime from now).
      const until = expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown as string;
      expect(revoked()).toEqual([
        { userId: u.id, sessionId: sid, until },
        { userId: v.id, sessionId: vsid, until },
      ]);
      for (const e of revoked() as Array<{ until?: string }>) {
        const left = Date.parse(e.until!) - Date.now();
        expect(left).toBeGreaterThan(0);
        expect(left).toBeLessThanOrEqual(900_000); // ACCESS_TOKEN_TTL_SECONDS' default
      }
    } finally {
      await tap.close();
    }
  });

  it('loads the sessions revoked within an access-token lifetime from the partial index, not by scanning live tokens', async () => {
    const u = await registerUser(h.app);
    const pool = h.database.pool;
    // Many live tokens (revoked_at null), a few sessions revoked just now, a few revoked long ago.
    await pool.query(
      `INSERT INTO accounts.refresh_tokens (family_id, user_id, token_hash, expires_at, revoked_at)
       SELECT gen_random_uuid(), $1, 'live-' || g || '-' || gen_random_uuid(), now() + interval '30 days',
              CASE WHEN g <= 40 THEN now() WHEN g <= 80 THEN now() - interval '2 days' END
       FROM generate_series(1, 40000) g`,
      [u.id],
    );
    await pool.query('ANALYZE accounts.refresh_tokens');
    const repo = createSessionsRepository(h.database.db);
    const since = new Date(Date.now() - 900_000);
    const { sql, params } = repo.revokedSinceQuery(since).toSQL();
    const plan = (await pool.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, params)).rows[0]![
      'QUERY PLAN'
    ];
    const nodes: Array<Record<string, unknown>> = [];
    const walk = (n: Record<string, unknown>) => {
      nodes.push(n);
      for (const c of (n.Plans as Array<Record<string, unknown>> | undefined) ?? []) walk(c);
    };
    walk((plan as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan);
    const onTokens = nodes.filter((n) => n['Relation Name'] === 'refresh_tokens' || n['Index Name']);
    expect(onTokens.map((n) => n['Index Name'])).toContain('refresh_tokens_revoked_idx');
    expect(nodes.some((n) => n['Node Type'] === 'Seq Scan')).toBe(false);
    // And it answers the same: the 40 sessions revoked now (plus any ended by the tests above), not those of 2 days ago.
    const revoked = await repo.revokedSince(since);
    expect(revoked.length).toBeGreaterThanOrEqual(40);
    expect(revoked.every((r) => r.revokedAt.getTime() > since.getTime())).toBe(true);
  });
});

describe('the refresh token as an httpOnly cookie', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const cookieOf = (headers: Record<string, unknown>) => {
    const c = headers['set-cookie'];
    return Array.isArray(c) ? c.join('; ') : typeof c === 'string' ? c : '';
  };

  it('sets it on register, login and refresh; refresh and logout take it when the body leaves the token out', async () => {
    const u = await registerUser(h.app);
    const login = await call(h.app, 'POST', '/api/v1/auth/login', {
      body: { username: u.username, password: 'correct horse' },
    });
    const cookie = cookieOf(login.headers);
    expect(cookie).toMatch(
      new RegExp(
        `^chat_refresh=${login.body.refreshToken}; Max-Age=\\d+; HttpOnly; SameSite=Strict; Path=/api/v1/auth`,
      ),
    );
    const pair = cookie.split(';')[0]!;
    const refreshed = await call(h.app, 'POST', '/api/v1/auth/refresh', {
      body: {},
      headers: { cookie: `other=1; ${pair}` },
    });
    expect(refreshed.status).toBe(200);
    expect(cookieOf(refreshed.headers)).toContain(`chat_refresh=${refreshed.body.refreshToken};`);
    // The cookie's token was rotated: replaying it is reuse.
    expect((await call(h.app, 'POST', '/api/v1/auth/refresh', { body: {}, headers: { cookie: pair } })).status).toBe(
      401,
    );
    expect((await call(h.app, 'POST', '/api/v1/auth/refresh', { body: {} })).status).toBe(401);
    const out = await call(h.app, 'POST', '/api/v1/auth/logout', {
      body: {},
      headers: { cookie: `chat_refresh=${refreshed.body.refreshToken}` },
    });
    expect(out.status).toBe(204);
    expect(cookieOf(out.headers)).toMatch(/^chat_refresh=; Max-Age=0;/);
  });

  it("refuses a revoked session's access tokens on every instance, and on one started afterwards", async () => {
    const u = await registerUser(h.app);
    const me = (app: typeof h.app, token: string) => call(app, 'GET', '/api/v1/me', { token });
    const refused = { status: 401, body: { error: { code: 'UNAUTHENTICATED' } } };
    const before = await h.another(); // closed by h.close()
    expect((await me(h.app, u.token)).status).toBe(200);
    expect((await me(before.app, u.token)).status).toBe(200);
    const other = await call(h.app, 'POST', '/api/v1/auth/login', {
      body: { username: u.username, password: 'correct horse' },
    });

    const out = await call(h.app, 'POST', '/api/v1/auth/logout', { body: { refreshToken: u.refreshToken } });
    expect(out.status).toBe(204);
    // The instance that ended it refuses at once; another one once session.revoked reaches it.
    expect(await me(h.app, u.token)).toMatchObject(refused);
    await waitFor(async () => (await me(before.app, u.token)).status === 401, 10_000, 'the other instance to refuse');
    expect(await me(before.app, u.token)).toMatchObject(refused);
    // One started after the logout loaded it from the database.
    const after = await h.another();
    expect(await me(after.app, u.token)).toMatchObject(refused);
    // The user's other session is untouched.
    for (const app of [h.app, before.app, after.app]) expect((await me(app, other.body.accessToken)).status).toBe(200);
  });
});
